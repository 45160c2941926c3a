package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's test vector.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func headers(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func sign(secret, id string, ts int64, body string) string {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	at := time.Unix(vecTS, 0)
	if err := Verify(vecSecret, headers(vecID, vecTS, vecSig), []byte(vecBody), at); err != nil {
		t.Fatalf("the standard vector: %v", err)
	}
	if got := sign(vecSecret, vecID, vecTS, vecBody); got != vecSig {
		t.Fatalf("independent signature %s, want %s", got, vecSig)
	}
	other := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 24))
	for name, tc := range map[string]struct {
		secret string
		h      http.Header
		body   string
		now    time.Time
	}{
		"tampered body":   {vecSecret, headers(vecID, vecTS, vecSig), `{"test": 2432232315}`, at},
		"other id":        {vecSecret, headers("msg_other", vecTS, vecSig), vecBody, at},
		"wrong secret":    {other, headers(vecID, vecTS, vecSig), vecBody, at},
		"too old":         {vecSecret, headers(vecID, vecTS, vecSig), vecBody, at.Add(6 * time.Minute)},
		"from the future": {vecSecret, headers(vecID, vecTS, vecSig), vecBody, at.Add(-6 * time.Minute)},
		"no signature":    {vecSecret, headers(vecID, vecTS, ""), vecBody, at},
		"v2 only":         {vecSecret, headers(vecID, vecTS, "v2,"+strings.TrimPrefix(vecSig, "v1,")), vecBody, at},
		"garbage":         {vecSecret, headers(vecID, vecTS, "v1,!!!"), vecBody, at},
	} {
		if err := Verify(tc.secret, tc.h, []byte(tc.body), tc.now); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// Several signatures (a rotated secret): one match is enough.
	h := headers(vecID, vecTS, "v1,AAAA "+vecSig)
	if err := Verify(vecSecret, h, []byte(vecBody), at.Add(4*time.Minute)); err != nil {
		t.Fatalf("second signature, 4 min late: %v", err)
	}
	if err := Verify("not-a-secret", headers(vecID, vecTS, vecSig), []byte(vecBody), at); err == nil {
		t.Fatal("a secret without whsec_ verified")
	}
}

func TestReceiver(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rc := &receiver{secret: vecSecret, out: &out, now: func() time.Time { return now }, seen: map[string]bool{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	body := `{"type":"job.failed","timestamp":"2026-03-01T11:59:58Z","data":{"id":"job1","status":"failed"}}`
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header = headers("d1", now.Unix(), sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := sign(vecSecret, "d1", now.Unix(), body)
	if code := post(good); code != http.StatusNoContent {
		t.Fatalf("good delivery: %d", code)
	}
	if code := post(good); code != http.StatusNoContent {
		t.Fatalf("retried delivery: %d", code)
	}
	if code := post(sign(vecSecret, "d2", now.Unix(), body)); code != http.StatusUnauthorized {
		t.Fatalf("signature of another id: %d, want 401", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "job.failed") || !strings.Contains(lines[0], `"id":"job1"`) {
		t.Fatalf("printed %q, want the event once", out.String())
	}
}
