package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// DefaultTimeout bounds one ordinary API call. Long polls (Claim) get a
// longer deadline computed from their wait.
const DefaultTimeout = 30 * time.Second

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "xvault-sdk-go"

// Client talks to the hub's HTTP API. It is safe for concurrent use.
//
// Every method takes a context first; any non-2xx answer is returned as an
// *Error (so errors.Is(err, ErrNotFound) works), a failure to reach the hub
// as a *TransportError. The bearer token never appears in an error.
type Client struct {
	baseURL   string
	token     string
	tenantID  string
	timeout   time.Duration
	userAgent string
	hc        *http.Client
	rc        *resty.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc (custom
// transport, TLS, proxies). Deadlines come from contexts; an hc.Timeout
// shorter than a claim's long-poll wait would cut claims short.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each ordinary call (default DefaultTimeout). Zero or
// negative leaves calls bounded only by their context.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithTenant adds ?tenant_id=id to tenant-scoped calls. Platform-admin
// tokens need it; for a tenant token it must name the token's own tenant.
func WithTenant(id string) Option { return func(c *Client) { c.tenantID = id } }

// New returns a client for the hub at baseURL (e.g. "http://127.0.0.1:8080")
// that authenticates with token.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		token:     token,
		timeout:   DefaultTimeout,
		userAgent: DefaultUserAgent,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	c.rc = resty.NewWithClient(c.hc).
		SetBaseURL(c.baseURL).
		SetHeader("User-Agent", c.userAgent).
		SetHeader("Accept", "application/json").
		SetDisableWarn(true).
		SetLogger(discardLogger{})
	return c
}

// ForTenant returns a copy of c whose tenant-scoped calls name tenant id
// (what WithTenant does at construction).
func (c *Client) ForTenant(id string) *Client {
	cp := *c
	cp.tenantID = id
	return &cp
}

// BaseURL is the hub address the client talks to.
func (c *Client) BaseURL() string { return c.baseURL }

// TenantID is the tenant named on tenant-scoped calls ("" = the token's own).
func (c *Client) TenantID() string { return c.tenantID }

// TransportError is a failure to reach the hub or to read its answer: no
// HTTP status was received.
type TransportError struct {
	Op  string // what was being done, e.g. "create tenant"
	Hub string // the hub's base URL (credentials redacted)
	Err error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%s: connect to hub %s: %v (hint: is the hub running and reachable? check XV_HUB_URL)",
		e.Op, e.Hub, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// call describes one API request.
type call struct {
	op      string // for error messages: "create tenant"
	method  string
	path    string // already escaped
	query   url.Values
	body    any
	out     any    // decoded on 2xx when not nil
	token   string // overrides the client's token (enrollment)
	tenant  bool   // tenant-scoped: add tenant_id when the client has one
	timeout time.Duration
}

// do runs one call and returns the HTTP status of a 2xx answer.
func (c *Client) do(ctx context.Context, cl call) (int, error) {
	timeout := c.timeout
	if cl.timeout > 0 {
		timeout = cl.timeout
	}
	rctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	req := c.rc.R().SetContext(rctx)
	token := c.token
	if cl.token != "" {
		token = cl.token
	}
	if token != "" {
		req.SetAuthToken(token)
	}
	q := cl.query
	if cl.tenant && c.tenantID != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("tenant_id", c.tenantID)
	}
	if len(q) > 0 {
		req.SetQueryParamsFromValues(q)
	}
	if cl.body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(cl.body)
	}

	resp, err := req.Execute(cl.method, cl.path)
	if err != nil {
		return 0, c.transportError(ctx, cl.op, err)
	}
	status := resp.StatusCode()
	body := resp.Body()
	if status < 200 || status > 299 {
		return status, decodeError(status, body)
	}
	if cl.out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, cl.out); err != nil {
			return status, fmt.Errorf("%s: decode hub answer (HTTP %d): %w", cl.op, status, err)
		}
	}
	return status, nil
}

func (c *Client) transportError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller gave up (Ctrl-C, its own deadline): not the hub's fault.
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop "Post \"http://…\":", the hub is named below
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within the request timeout: %w", err)
	}
	return &TransportError{Op: op, Hub: redactURL(c.baseURL), Err: err}
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// decodeError turns a non-2xx answer into an *Error: the hub's JSON error
// when the body holds one, else a code from the status and its text.
func decodeError(status int, body []byte) *Error {
	var eb ErrorBody
	if err := json.Unmarshal(body, &eb); err == nil && eb.Error != nil && eb.Error.Code != "" {
		eb.Error.HTTPStatus = status
		if eb.Error.Message == "" {
			eb.Error.Message = statusMessage(status)
		}
		return eb.Error
	}
	return &Error{Code: CodeForStatus(status), Message: statusMessage(status), HTTPStatus: status}
}

func statusMessage(status int) string {
	text := http.StatusText(status)
	if text == "" {
		text = "unexpected status"
	}
	return fmt.Sprintf("hub answered %d %s", status, text)
}

// pathf builds a path with every argument path-escaped.
func pathf(format string, ids ...string) string {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = url.PathEscape(id)
	}
	return fmt.Sprintf(format, args...)
}

// listQuery renders the common list options.
func listQuery(o ListOptions) url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// discardLogger keeps resty quiet: the client reports through errors.
type discardLogger struct{}

func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Debugf(string, ...any) {}
