package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func TestEventCounters(t *testing.T) {
	reg := prometheus.NewRegistry()
	require.NoError(t, Register(reg))
	require.Error(t, Register(reg), "twice on one registry is reported")
	require.NoError(t, Register(prometheus.NewRegistry()), "several registries may export the same series")

	before := value(t, leaseRescues.WithLabelValues("queued"))
	LeaseRescued("queued")
	require.Equal(t, before+1, value(t, leaseRescues.WithLabelValues("queued")))

	before = value(t, retentionDeletions)
	RetentionDeletion()
	require.Equal(t, before+1, value(t, retentionDeletions))

	before = value(t, webhookDeliveries.WithLabelValues("success"))
	WebhookDelivery("success")
	require.Equal(t, before+1, value(t, webhookDeliveries.WithLabelValues("success")))

	subs := EventSubscribers(func() int { return 3 }).(prometheus.Metric)
	require.Equal(t, 3.0, value(t, subs))

	n := sampleCount(t, jobDuration)
	JobEnded("zz_test", "failed", 0, 0, 0) // never started: counted, not observed
	require.Equal(t, n, sampleCount(t, jobDuration))
	require.Equal(t, 1.0, value(t, jobsEnded.WithLabelValues("zz_test", "failed")))
	JobEnded("zz_test", "completed", 90*time.Second, 10, 5)
	require.Equal(t, n+1, sampleCount(t, jobDuration))
	require.Equal(t, 10.0, value(t, bytesRead.WithLabelValues("zz_test")))
	require.Equal(t, 5.0, value(t, bytesWritten.WithLabelValues("zz_test")))
}

// value reads a counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	require.NoError(t, m.Write(&out))
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}

// sampleCount is the number of observations across a histogram's series.
func sampleCount(t *testing.T, c prometheus.Collector) int {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	c.Collect(ch)
	close(ch)
	n := 0
	for m := range ch {
		var out dto.Metric
		require.NoError(t, m.Write(&out))
		n += int(out.Histogram.GetSampleCount())
	}
	return n
}
