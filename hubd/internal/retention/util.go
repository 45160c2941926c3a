package retention

import "encoding/json"

func auditDetails(m map[string]any) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
