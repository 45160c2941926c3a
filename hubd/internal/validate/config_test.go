package validate

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// configCase is one config given to a decoder: fields lists the problems
// it must report (exactly those keys); empty means it is accepted, and
// want (when set) is the normalized config it must return.
type configCase struct {
	name, config string
	fields       []string
	want         string
}

func runConfigCases[T any](t *testing.T, decode func([]byte) (*T, Fields), cases []configCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, f := decode([]byte(tc.config))
			if len(tc.fields) == 0 {
				require.Empty(t, f)
				require.NotNil(t, cfg)
				if tc.want != "" {
					got, err := json.Marshal(cfg)
					require.NoError(t, err)
					require.JSONEq(t, tc.want, string(got))
				}
				return
			}
			require.Nil(t, cfg)
			require.ElementsMatch(t, tc.fields, sortedKeys(f), "%v", f)
			for k, v := range f {
				require.NotEmpty(t, v, k)
			}
		})
	}
}

// fuzzConfig checks what a decoder accepted: encoded and decoded again it
// is accepted unchanged (normalizing is idempotent), then check holds.
func fuzzConfig[T any](t *testing.T, decode func([]byte) (*T, Fields), raw []byte, check func(*T)) {
	cfg, f := decode(raw)
	if len(f) > 0 {
		require.Nil(t, cfg)
		for k, v := range f {
			require.NotEmpty(t, v, k)
		}
		return
	}
	require.NotNil(t, cfg)
	again, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfg2, f2 := decode(again)
	require.Empty(t, f2, "%s", again)
	require.Equal(t, cfg, cfg2)
	check(cfg)
}

const testHostKey = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"

func TestDecodeConfigShape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, field string }{
		{`[1]`, ""}, {`null`, ""}, {``, ""}, {`{"paths":`, ""}, {`{} {}`, ""},
		{`{"paths":"/x"}`, "paths"}, {`{"Paths":["/"]}`, "Paths"}, {`{"paths":["/"],"x":1}`, "x"},
	} {
		_, f := LocalConfig([]byte(tc.raw))
		require.Contains(t, f, tc.field, "%s: %v", tc.raw, f)
	}
}
