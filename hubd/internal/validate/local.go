package validate

import "github.com/xvault/xvault/sdk"

var localConfigKeys = []string{"paths", "exclude"}

// LocalConfig decodes and checks the config of a local source: 1-100
// absolute, clean paths and optional exclude globs. Whether the agent may
// read them (its --allow-local-root) is the agent's to decide; the hub
// checks the shape only.
func LocalConfig(raw []byte) (*sdk.LocalConfig, Fields) {
	var c sdk.LocalConfig
	f, ok := decodeConfig(raw, &c, localConfigKeys, nil)
	if !ok {
		return nil, f
	}
	checkPaths(f, c.Paths)
	checkExcludes(f, c.Exclude)
	c.Exclude = nilIfEmpty(c.Exclude)
	if len(f) > 0 {
		return nil, f
	}
	return &c, nil
}
