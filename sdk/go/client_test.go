package logflux

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// server answers with the queued statuses (then 202), keeps every request and decrypts entries.
type server struct {
	t        *testing.T
	secret   string
	mu       sync.Mutex
	statuses []int
	requests []*http.Request
	entries  [][]Entry
	*httptest.Server
}

func newServer(t *testing.T, secret string, statuses ...int) *server {
	s := &server{t: t, secret: secret, statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Entries []Entry }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("body: %v", err)
		}
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.entries = append(s.entries, body.Entries)
		status := http.StatusAccepted
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) plaintexts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	keys := map[string]cipher.AEAD{}
	for _, batch := range s.entries {
		for _, e := range batch {
			aead, ok := keys[e.Salt]
			if !ok {
				key, err := Derive([]byte(s.secret), b64(s.t, e.Salt), Iterations)
				if err != nil {
					s.t.Fatal(err)
				}
				block, _ := aes.NewCipher(key)
				aead, _ = cipher.NewGCM(block)
				keys[e.Salt] = aead
			}
			plain, err := aead.Open(nil, b64(s.t, e.IV), b64(s.t, e.Payload), nil)
			if err != nil {
				s.t.Fatalf("entry does not decrypt: %v", err)
			}
			out = append(out, string(plain))
		}
	}
	return out
}

func code(err error) string {
	var e *LogFluxError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestTheDocSequenceDeliversEncryptedEntries(t *testing.T) {
	srv := newServer(t, "your-secret")
	if err := Init(srv.URL, "my-app", "lf_your_api_key", "your-secret"); err != nil {
		t.Fatal(err)
	}
	for _, send := range []func(string) error{Info, Warning, Error, Debug, Notice, Critical, Alert, Emergency} {
		if err := send("m"); err != nil {
			t.Fatal(err)
		}
	}
	if err := Close(); err != nil {
		t.Fatal(err)
	}
	r := srv.requests[0]
	if r.URL.Path != "/v1/batch" || r.Header.Get("Authorization") != "Bearer lf_your_api_key" || r.Header.Get("Idempotency-Key") == "" {
		t.Fatalf("request %s %v", r.URL.Path, r.Header)
	}
	var levels []int
	for _, e := range srv.entries[0] {
		if e.Node != "my-app" || e.EncryptionMode != 1 {
			t.Fatalf("entry %+v", e)
		}
		levels = append(levels, e.LogLevel)
	}
	if want := []int{7, 5, 4, 8, 6, 3, 2, 1}; !equal(levels, want) || len(srv.plaintexts()) != 8 || srv.plaintexts()[0] != "m" {
		t.Fatalf("levels %v, plaintexts %v", levels, srv.plaintexts())
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoggingBeforeInitIsAnErrorWithACode(t *testing.T) {
	if err := Info("too early"); code(err) != "NOT_INITIALIZED" {
		t.Fatalf("got %v", err)
	}
	if err := Close(); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidConfigIsRefusedWithAReason(t *testing.T) {
	for _, cfg := range []Config{
		DefaultConfig("c12345.ingest.us.logflux.io", "n", "lf_k", "s"),
		DefaultConfig("https://h", "n", "", "s"),
		DefaultConfig("https://h", "n", "lf_k", ""),
	} {
		if _, err := NewClient(cfg); code(err) != "INVALID_CONFIG" {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
}

func TestRetriesUnderOneIdempotencyKeyAndTheV1URLSpelling(t *testing.T) {
	srv := newServer(t, "s", http.StatusServiceUnavailable, http.StatusTooManyRequests)
	cfg := DefaultConfig(srv.URL+"/v1/", "n", "lf_k", "s")
	cfg.BackoffBase, cfg.BackoffCap = time.Millisecond, 5*time.Millisecond
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Info("retried")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	keys := map[string]bool{}
	for _, r := range srv.requests {
		keys[r.Header.Get("Idempotency-Key")] = true
		if r.URL.Path != "/v1/batch" {
			t.Fatalf("path %s", r.URL.Path)
		}
	}
	if st.Sent != 1 || st.Retries != 2 || len(srv.requests) != 3 || len(keys) != 1 {
		t.Fatalf("stats %+v, %d requests, %d keys", st, len(srv.requests), len(keys))
	}
}

func TestARefusedBatchIsNotRetriedAndCloseReportsItWithoutFailsafe(t *testing.T) {
	srv := newServer(t, "s", http.StatusBadRequest)
	cfg := DefaultConfig(srv.URL, "n", "lf_k", "s")
	cfg.FailsafeMode = false
	c, _ := NewClient(cfg)
	c.Error("refused")
	c.Flush(10 * time.Second)
	err := c.Close()
	if st := c.Stats(); st.Rejected != 1 || st.Retries != 0 || code(err) != "UNDELIVERED" {
		t.Fatalf("stats %+v, close %v", st, err)
	}
	if err := c.Info("late"); code(err) != "CLOSED" {
		t.Fatalf("after close: %v", err)
	}
}

func TestAFullQueueDropsAndCountsAndOnlyFailsafeHidesIt(t *testing.T) {
	for _, failsafe := range []bool{true, false} {
		srv := newServer(t, "s")
		cfg := DefaultConfig(srv.URL, "n", "lf_k", "s")
		cfg.FailsafeMode, cfg.QueueSize, cfg.FlushInterval = failsafe, 3, time.Hour
		c, _ := NewClient(cfg)
		var errs []string
		for i := 0; i < 5; i++ {
			errs = append(errs, code(c.Info("x")))
		}
		want := []string{"", "", "", "QUEUE_FULL", "QUEUE_FULL"}
		if failsafe {
			want = []string{"", "", "", "", ""}
		}
		for i := range want {
			if errs[i] != want[i] {
				t.Fatalf("failsafe %v: %v", failsafe, errs)
			}
		}
		c.Close()
		if st := c.Stats(); st.Dropped != 2 || st.Sent != 3 {
			t.Fatalf("failsafe %v: %+v", failsafe, st)
		}
	}
}

func TestABatchHoldsAtMostTheDocLimitOf100(t *testing.T) {
	srv := newServer(t, "s")
	cfg := DefaultConfig(srv.URL, "n", "lf_k", "s")
	cfg.BatchSize, cfg.FlushInterval = 500, time.Hour
	c, _ := NewClient(cfg)
	for i := 0; i < 150; i++ {
		c.Debug("x")
	}
	c.Close()
	if len(srv.entries) != 2 || len(srv.entries[0]) != 100 || len(srv.entries[1]) != 50 {
		t.Fatalf("%d requests", len(srv.entries))
	}
}

func TestServerDelaysAndCappedBackoff(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second, true},
		{http.Header{"Retry-After": {now.Add(10 * time.Second).UTC().Format(http.TimeFormat)}}, 10 * time.Second, true},
		{http.Header{"X-Ratelimit-Reset": {"1700000100"}, "X-Ratelimit-Remaining": {"0"}}, 100 * time.Second, true},
		{http.Header{"X-Ratelimit-Reset": {"1700000100"}, "X-Ratelimit-Remaining": {"3"}}, 0, false},
	}
	for _, c := range cases {
		if got, ok := serverDelay(c.header, now); got != c.want || ok != c.ok {
			t.Errorf("%v: %v %v", c.header, got, ok)
		}
	}
	one := func() float64 { return 1 }
	if backoff(10, 500*time.Millisecond, 30*time.Second, one) != 30*time.Second ||
		backoff(2, 500*time.Millisecond, 30*time.Second, func() float64 { return 0.5 }) != time.Second {
		t.Fatal("backoff")
	}
	if !retryable(0) || !retryable(429) || !retryable(503) || retryable(400) || retryable(401) || retryable(413) {
		t.Fatal("retryable")
	}
}
