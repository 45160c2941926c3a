package schedule

import (
	"fmt"
	"time"

	"github.com/xvault/xvault/hubd/internal/retention"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// Limits of a verify drill period.
const (
	MinVerifyEvery = time.Hour
	MaxVerifyEvery = 365 * 24 * time.Hour
)

// ParseVerifyEvery reads a verify drill period in the retention duration
// syntax ("7d", "12h", "2w", "1d12h"; units w, d, h, m) and returns it in
// minutes. It must be between 1h and 365d.
func ParseVerifyEvery(s string) (int, error) {
	d, err := retention.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < MinVerifyEvery || d > MaxVerifyEvery {
		return 0, fmt.Errorf("must be between 1h and 365d")
	}
	return int(d / time.Minute), nil
}

// FormatVerifyEvery writes a stored period (minutes) the way the API shows
// it: "7d", "1d12h", "" for none.
func FormatVerifyEvery(minutes *int) string {
	if minutes == nil || *minutes <= 0 {
		return ""
	}
	return retention.FormatDuration(time.Duration(*minutes) * time.Minute)
}

// CheckVerify validates a drill mode and period, which go together, into
// f under the keys "verify" and "verify_every", and returns the period in
// minutes (0 when both are empty: no drills).
func CheckVerify(f validate.Fields, mode, every string) int {
	switch mode {
	case "", sdk.VerifyDrillLatest, sdk.VerifyDrillSample:
	default:
		f.Add("verify", fmt.Sprintf("must be %q or %q", sdk.VerifyDrillLatest, sdk.VerifyDrillSample))
		mode = "?" // still check the period
	}
	switch {
	case mode == "" && every == "":
		return 0
	case mode == "":
		f.Add("verify", fmt.Sprintf("is required with verify_every (%q or %q)", sdk.VerifyDrillLatest, sdk.VerifyDrillSample))
	case every == "":
		f.Add("verify_every", `is required with verify (a period such as "7d")`)
		return 0
	}
	minutes, err := ParseVerifyEvery(every)
	if err != nil {
		f.Add("verify_every", err.Error())
		return 0
	}
	return minutes
}
