package logflux

// Sending one batch: encrypt its records, POST it under one Idempotency-Key, retry what may
// succeed later (retry.go) and count what became of it.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

func (c *Client) count(field *int64, n int) {
	c.mu.Lock()
	*field += int64(n)
	c.mu.Unlock()
}

func (c *Client) deliver(batch []record) {
	body, err := c.body(batch)
	if err != nil { // a field that cannot be JSON: counted, never retried
		c.count(&c.stats.Rejected, len(batch))
		return
	}
	idem := make([]byte, 16)
	_, _ = rand.Read(idem)
	for attempt := 0; ; attempt++ {
		status, header := c.post(body, hex.EncodeToString(idem))
		if status >= 200 && status < 300 {
			c.count(&c.stats.Sent, len(batch))
			return
		}
		if !retryable(status) {
			c.count(&c.stats.Rejected, len(batch))
			return
		}
		if c.stopping() {
			c.count(&c.stats.Abandoned, len(batch))
			return
		}
		c.count(&c.stats.Retries, 1)
		wait := time.NewTimer(delay(attempt, header, time.Now(), c.cfg.BackoffBase, c.cfg.BackoffCap))
		select {
		case <-wait.C:
		case <-c.stop:
		}
		wait.Stop()
	}
}

func (c *Client) body(batch []record) ([]byte, error) {
	entries := make([]Entry, len(batch))
	for i, r := range batch {
		e, err := c.entry(r, nil)
		if err != nil {
			return nil, err
		}
		entries[i] = e
	}
	return json.Marshal(map[string][]Entry{"entries": entries})
}

// entry: a "service" field names the node and leaves the plaintext, as in the other SDKs.
func (c *Client) entry(r record, iv []byte) (Entry, error) {
	node, fields := c.cfg.Node, r.fields
	if service, ok := fields["service"]; ok {
		node = fmt.Sprint(service)
		fields = make(map[string]any, len(r.fields))
		for k, v := range r.fields {
			if k != "service" {
				fields[k] = v
			}
		}
	}
	if node == "" {
		node = "app"
	}
	return c.session.Entry(node, r.level, r.message, r.timestamp, fields, iv)
}

// post sends one request; status 0 is a network error.
func (c *Client) post(body []byte, idempotencyKey string) (int, http.Header) {
	req, err := http.NewRequest(http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, http.Header{}
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, http.Header{}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header
}
