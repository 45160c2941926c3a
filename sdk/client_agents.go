package sdk

import (
	"context"
	"net/http"
	"time"
)

// Operator calls about agents (platform admin).

// CreateEnrollmentToken makes a token agents exchange for their own; the
// secret is in the result only this once.
func (c *Client) CreateEnrollmentToken(ctx context.Context, req CreateEnrollmentTokenRequest) (*CreatedEnrollmentToken, error) {
	var out CreatedEnrollmentToken
	_, err := c.do(ctx, call{op: "create enrollment token", method: http.MethodPost,
		path: "/api/v1/agents/enrollment-tokens", body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListEnrollmentTokens lists enrollment tokens (never their secrets).
func (c *Client) ListEnrollmentTokens(ctx context.Context, opts ListOptions) (*Page[EnrollmentToken], error) {
	var out Page[EnrollmentToken]
	_, err := c.do(ctx, call{op: "list enrollment tokens", method: http.MethodGet,
		path: "/api/v1/agents/enrollment-tokens", query: listQuery(opts), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAgents lists enrolled agents.
func (c *Client) ListAgents(ctx context.Context, opts ListOptions) (*Page[Agent], error) {
	var out Page[Agent]
	_, err := c.do(ctx, call{op: "list agents", method: http.MethodGet, path: "/api/v1/agents",
		query: listQuery(opts), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetAgent fetches one agent.
func (c *Client) GetAgent(ctx context.Context, id string) (*Agent, error) {
	var out Agent
	_, err := c.do(ctx, call{op: "get agent", method: http.MethodGet, path: pathf("/api/v1/agents/%s", id), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// The agent protocol. A client for it is made with the agent's own token
// (Enroll excepted, which takes the enrollment token).

// claimSlack is added to a claim's wait to make its HTTP deadline.
const claimSlack = 15 * time.Second

// Enroll exchanges an enrollment token for the agent's own token.
func (c *Client) Enroll(ctx context.Context, enrollmentToken string, req EnrollRequest) (*EnrollResponse, error) {
	var out EnrollResponse
	_, err := c.do(ctx, call{op: "enroll agent", method: http.MethodPost, path: "/api/v1/agent/enroll",
		body: req, out: &out, token: enrollmentToken})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Heartbeat tells the hub the agent is alive.
func (c *Client) Heartbeat(ctx context.Context, req HeartbeatRequest) (*HeartbeatResponse, error) {
	var out HeartbeatResponse
	_, err := c.do(ctx, call{op: "send heartbeat", method: http.MethodPost, path: "/api/v1/agent/heartbeat",
		body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Claim long-polls for one job. The result's Job is nil when the wait ended
// without work. The HTTP deadline is the wait (default 30s, max 60s) plus
// some slack, whatever the client's ordinary timeout.
func (c *Client) Claim(ctx context.Context, req ClaimRequest) (*ClaimResponse, error) {
	wait := time.Duration(req.WaitSeconds) * time.Second
	if wait <= 0 {
		wait = 30 * time.Second
	}
	timeout := wait + claimSlack
	if c.timeout > timeout {
		timeout = c.timeout
	}
	var out ClaimResponse
	_, err := c.do(ctx, call{op: "claim job", method: http.MethodPost, path: "/api/v1/agent/jobs/claim",
		body: req, out: &out, timeout: timeout})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Renew extends the lease on a job and reports progress. ErrConflict means
// the lease is stale: abort and delete partial output.
func (c *Client) Renew(ctx context.Context, jobID string, req RenewRequest) (*RenewResponse, error) {
	var out RenewResponse
	_, err := c.do(ctx, call{op: "renew lease", method: http.MethodPost, path: pathf("/api/v1/agent/jobs/%s/renew", jobID),
		body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Credentials fetches the job's secrets for the lease held, encrypted to the
// agent's own age recipient.
func (c *Client) Credentials(ctx context.Context, jobID string, lease LeaseRef) (*CredentialRelease, error) {
	var out CredentialRelease
	_, err := c.do(ctx, call{op: "fetch job credentials", method: http.MethodPost,
		path: pathf("/api/v1/agent/jobs/%s/credentials", jobID), body: lease, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportHostKey records the host key seen on first connection and returns
// the fingerprint the hub now holds for the source.
func (c *Client) ReportHostKey(ctx context.Context, jobID string, req HostKeyReport) (string, error) {
	var out struct {
		Fingerprint string `json:"fingerprint"`
	}
	_, err := c.do(ctx, call{op: "report host key", method: http.MethodPost,
		path: pathf("/api/v1/agent/jobs/%s/host-key", jobID), body: req, out: &out})
	if err != nil {
		return "", err
	}
	return out.Fingerprint, nil
}

// Complete ends a job (idempotent for the same epoch) and returns it.
func (c *Client) Complete(ctx context.Context, jobID string, req CompleteRequest) (*Job, error) {
	var out Job
	_, err := c.do(ctx, call{op: "complete job", method: http.MethodPost,
		path: pathf("/api/v1/agent/jobs/%s/complete", jobID), body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
