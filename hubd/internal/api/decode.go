package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// decode reads the request body as exactly one JSON object into dst:
// at most 1 MiB (413), unknown fields rejected, trailing data rejected,
// type errors answered with the field they concern.
func decode(c *call, dst any) error { return decodeBody(c.w, c.r, dst, false) }

// decodeOptional is decode, but an empty body means an empty object.
func decodeOptional(c *call, dst any) error { return decodeBody(c.w, c.r, dst, true) }

func decodeBody(w http.ResponseWriter, r *http.Request, dst any, emptyOK bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return sdk.Errorf(sdk.CodeTooLarge, "request body is larger than %d bytes", MaxBodyBytes)
	case err != nil:
		return sdk.Errorf(sdk.CodeInvalidArgument, "read request body: %v", err)
	}
	return decodeBytes(body, dst, emptyOK)
}

// decodeBytes is the body decoder proper (also the fuzz target's entry).
func decodeBytes(body []byte, dst any, emptyOK bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return sdk.Errorf(sdk.CodeInvalidArgument, "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return sdk.Errorf(sdk.CodeInvalidArgument, "malformed JSON: unexpected data after the JSON object")
	}
	return nil
}

func bodyError(err error) error {
	field, problem := validate.JSONProblem(err)
	if field == "" {
		return sdk.Errorf(sdk.CodeInvalidArgument, "malformed JSON: request body %s", problem)
	}
	return &sdk.Error{Code: sdk.CodeInvalidArgument, Message: fmt.Sprintf("invalid request body: %s %s", field, problem),
		Fields: map[string]string{field: problem}}
}
