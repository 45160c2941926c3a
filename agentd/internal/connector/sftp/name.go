package sftp

import (
	"fmt"
	"strings"

	"github.com/xvault/xvault/sdk/archive"
)

// checkElement accepts a name the server listed in a directory only if it is
// one path element that the artifact format allows: not empty, not "." or
// "..", no "/" and no NUL. The error quotes the name.
func checkElement(name string) error {
	if strings.IndexByte(name, '/') >= 0 {
		return fmt.Errorf("%w %q: not a single path element", archive.ErrInvalidName, name)
	}
	return archive.ValidName(name)
}
