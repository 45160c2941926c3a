package cmdutil

import (
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// PrintChecks prints a test report's checks as a CHECK/RESULT/DETAIL table
// (xv source test, xv storage test).
func PrintChecks(out *output.Printer, checks []sdk.TestCheck) error {
	t := out.Table("CHECK", "RESULT", "DETAIL")
	for _, c := range checks {
		res := "ok"
		if !c.OK {
			res = "FAILED"
		}
		t.Row(c.Name, res, c.Detail)
	}
	return t.Flush()
}

// FirstFailedCheck is "name: detail" of the report's first failed check.
func FirstFailedCheck(rep *sdk.TestReport) string {
	for _, c := range rep.Checks {
		if !c.OK {
			return c.Name + ": " + c.Detail
		}
	}
	return "a check failed"
}
