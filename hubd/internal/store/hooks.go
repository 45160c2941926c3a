package store

import (
	"context"
	"reflect"
	"time"
)

// Drivers hand back times in whatever location they parsed (time.Local,
// a fixed +00:00 zone, …). Every model normalises its times to UTC after a
// scan, so a value written and read back is == equal, not just Equal.

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
)

func utcFields(model any) {
	v := reflect.ValueOf(model).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Type() {
		case timeType:
			if t := f.Interface().(time.Time); !t.IsZero() {
				f.Set(reflect.ValueOf(t.UTC()))
			}
		case timePtrType:
			if !f.IsNil() {
				t := f.Elem().Interface().(time.Time).UTC()
				f.Set(reflect.ValueOf(&t))
			}
		}
	}
}

func (m *Tenant) AfterScanRow(context.Context) error          { utcFields(m); return nil }
func (m *TenantKey) AfterScanRow(context.Context) error       { utcFields(m); return nil }
func (m *APIToken) AfterScanRow(context.Context) error        { utcFields(m); return nil }
func (m *EnrollmentToken) AfterScanRow(context.Context) error { utcFields(m); return nil }
func (m *Credential) AfterScanRow(context.Context) error      { utcFields(m); return nil }
func (m *Source) AfterScanRow(context.Context) error          { utcFields(m); return nil }
func (m *Schedule) AfterScanRow(context.Context) error        { utcFields(m); return nil }
func (m *Agent) AfterScanRow(context.Context) error           { utcFields(m); return nil }
func (m *Job) AfterScanRow(context.Context) error             { utcFields(m); return nil }
func (m *Snapshot) AfterScanRow(context.Context) error        { utcFields(m); return nil }
func (m *Restore) AfterScanRow(context.Context) error         { utcFields(m); return nil }
func (m *AuditEvent) AfterScanRow(context.Context) error      { utcFields(m); return nil }
func (m *SystemSetting) AfterScanRow(context.Context) error   { utcFields(m); return nil }
