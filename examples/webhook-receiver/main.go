// Command webhook-receiver is a small HTTP server that receives xVault
// webhooks, verifies their Standard Webhooks signature and prints the events.
//
//	XV_WEBHOOK_SECRET=whsec_… go run ./examples/webhook-receiver --listen :9000
//	go run ./examples/webhook-receiver --secret whsec_… --listen :9000
//
// A request whose signature does not verify with the secret, or whose
// timestamp is more than 5 minutes off, gets 401 and is not printed. The
// verification (Verify) uses the standard library only: copy it into your
// own receiver.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tolerance is how far a delivery's webhook-timestamp may be from now.
const Tolerance = 5 * time.Minute

// maxBody bounds a delivery's body.
const maxBody = 1 << 20

// ErrSignature is returned for every delivery that does not verify.
var ErrSignature = errors.New("webhook signature does not verify")

// Verify checks a delivery's webhook-id, webhook-timestamp and
// webhook-signature headers against body with secret ("whsec_…"), at now.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") || len(key) == 0 {
		return errors.New("the secret must be whsec_ followed by base64")
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: missing webhook-id, webhook-timestamp or webhook-signature", ErrSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp is not unix seconds", ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("%w: webhook-timestamp is %s off (at most %s)", ErrSignature, d.Round(time.Second), Tolerance)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	// The header may list several signatures (secret rotation): "v1,a v1,b".
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

// Event is the body of a delivery.
type Event struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// receiver is the HTTP handler: verify, drop duplicates, print.
type receiver struct {
	secret string
	out    io.Writer
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]bool // webhook-ids already printed (delivery is at least once)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := Verify(rc.secret, r.Header, body, rc.now()); err != nil {
		log.Printf("rejected a delivery from %s: %v", r.RemoteAddr, err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "body is not a webhook event", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	rc.mu.Lock()
	dup := rc.seen[id]
	if len(rc.seen) > 10000 {
		rc.seen = map[string]bool{}
	}
	rc.seen[id] = true
	rc.mu.Unlock()
	if !dup {
		fmt.Fprintf(rc.out, "%s %-18s %s %s\n", ev.Timestamp.Format(time.RFC3339), ev.Type, id, ev.Data)
	}
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	secret := flag.String("secret", os.Getenv("XV_WEBHOOK_SECRET"), "the webhook's whsec_ secret (or set XV_WEBHOOK_SECRET: argv is visible to other users)")
	listen := flag.String("listen", ":9000", "address to listen on")
	flag.Parse()
	if !strings.HasPrefix(*secret, "whsec_") {
		fmt.Fprintln(os.Stderr, "webhook-receiver: give the secret `xv webhook create` printed: --secret whsec_… or XV_WEBHOOK_SECRET")
		os.Exit(2)
	}
	rc := &receiver{secret: *secret, out: os.Stdout, now: time.Now, seen: map[string]bool{}}
	srv := &http.Server{Addr: *listen, Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on %s", *listen)
	log.Fatal(srv.ListenAndServe())
}
