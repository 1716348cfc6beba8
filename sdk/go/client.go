package logflux

// The client: a bounded queue the application writes to, and one goroutine that sends batches
// (the contracts of sluice_sdk's Client):
//
//   - Log and the level methods never block. A record that does not fit in QueueSize is dropped
//     and counted; with FailsafeMode they return nil whatever happens, without it the error codes
//     QUEUE_FULL or CLOSED.
//   - A batch (at most 100 entries, the doc's limit) leaves when full or when its oldest record
//     has waited FlushInterval. Failed sends are retried (retry.go) until they succeed or the
//     client closes; batches go one at a time, in order, each under one Idempotency-Key.
//   - Flush(timeout) reports whether everything queued before it was sent. Close delivers what
//     is queued within CloseTimeout, then stops; what is left is counted as abandoned.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

type record struct {
	queued    time.Time
	timestamp string
	level     string
	message   string
	fields    map[string]any
}

// Client sends encrypted entries to <ServerURL>/v1/batch. Safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	session  *Session
	http     *http.Client

	mu       sync.Mutex
	queue    []record
	inFlight int
	flushing int
	closed   bool
	stats    Stats
	progress chan struct{} // closed and replaced whenever a batch ends
	wake     chan struct{}
	stop     chan struct{} // closed by Close: interrupts waits between retries
	done     chan struct{} // closed when the sending goroutine ends
}

// NewClient checks the config, derives the key (once) and starts the sending goroutine.
func NewClient(cfg Config) (*Client, error) {
	cfg, base, err := cfg.checked()
	if err != nil {
		return nil, err
	}
	session, err := NewSession(cfg.Secret, nil)
	if err != nil {
		return nil, err
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: cfg.Timeout}
	}
	c := &Client{
		cfg: cfg, endpoint: base + "/v1/batch", session: session, http: httpClient,
		progress: make(chan struct{}), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go c.run()
	return c, nil
}

// Log queues one record; fields make the plaintext a JSON object (a "service" field names the node).
func (c *Client) Log(level, message string, fields map[string]any) error {
	now := time.Now()
	c.mu.Lock()
	var refused error
	switch {
	case c.closed:
		refused = &LogFluxError{Code: "CLOSED", Message: "the client is closed; call Init or NewClient again"}
	case len(c.queue) >= c.cfg.QueueSize:
		refused = &LogFluxError{Code: "QUEUE_FULL", Message: fmt.Sprintf(
			"%d records are waiting to be sent; raise QueueSize or log less while the server is unreachable", c.cfg.QueueSize)}
	default:
		c.queue = append(c.queue, record{now, now.UTC().Format("2006-01-02T15:04:05.000Z07:00"), strings.ToLower(level), message, fields})
	}
	if refused != nil {
		c.stats.Dropped++
	}
	full := len(c.queue) >= c.cfg.BatchSize
	c.mu.Unlock()
	if full {
		c.kick()
	}
	if refused != nil && !c.cfg.FailsafeMode {
		return refused
	}
	return nil
}

func (c *Client) Emergency(message string) error { return c.Log("emergency", message, nil) }
func (c *Client) Alert(message string) error     { return c.Log("alert", message, nil) }
func (c *Client) Critical(message string) error  { return c.Log("critical", message, nil) }
func (c *Client) Error(message string) error     { return c.Log("error", message, nil) }
func (c *Client) Warning(message string) error   { return c.Log("warning", message, nil) }
func (c *Client) Notice(message string) error    { return c.Log("notice", message, nil) }
func (c *Client) Info(message string) error      { return c.Log("info", message, nil) }
func (c *Client) Debug(message string) error     { return c.Log("debug", message, nil) }

// Stats returns a copy of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Flush reports whether everything queued so far was sent within timeout.
func (c *Client) Flush(timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	c.mu.Lock()
	c.flushing++
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.flushing--; c.mu.Unlock() }()
	c.kick()
	for {
		c.mu.Lock()
		idle, progress := len(c.queue) == 0 && c.inFlight == 0, c.progress
		c.mu.Unlock()
		if idle {
			return true
		}
		select {
		case <-progress:
		case <-c.done:
			return false
		case <-deadline.C:
			return false
		}
	}
}

// Close delivers what is queued within CloseTimeout and stops. Without FailsafeMode it returns
// an UNDELIVERED error when any record of the client's life was refused or abandoned.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.Flush(c.cfg.CloseTimeout)
	close(c.stop)
	c.kick()
	<-c.done
	c.mu.Lock()
	c.stats.Abandoned += int64(len(c.queue))
	c.queue = nil
	lost := c.stats.Rejected + c.stats.Abandoned
	c.mu.Unlock()
	if lost > 0 && !c.cfg.FailsafeMode {
		return &LogFluxError{Code: "UNDELIVERED", Message: fmt.Sprintf("%d records were refused by the server or still queued at close", lost)}
	}
	return nil
}

func (c *Client) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Client) stopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// due: a full batch, an old enough oldest record, or anything at all when forced.
func (c *Client) dueLocked(force bool) (bool, time.Duration) {
	if len(c.queue) == 0 {
		return false, c.cfg.FlushInterval
	}
	wait := time.Until(c.queue[0].queued.Add(c.cfg.FlushInterval))
	return force || len(c.queue) >= c.cfg.BatchSize || wait <= 0, max(wait, time.Millisecond)
}

func (c *Client) run() {
	defer close(c.done)
	for !c.stopping() {
		c.mu.Lock()
		due, wait := c.dueLocked(c.flushing > 0)
		var batch []record
		if due {
			n := min(c.cfg.BatchSize, len(c.queue))
			batch = append(batch, c.queue[:n]...)
			c.queue = c.queue[n:]
			c.inFlight = n
		}
		c.mu.Unlock()
		if batch != nil {
			c.deliver(batch)
			c.mu.Lock()
			c.inFlight = 0
			close(c.progress)
			c.progress = make(chan struct{})
			c.mu.Unlock()
			continue
		}
		timer := time.NewTimer(wait)
		select {
		case <-c.wake:
		case <-c.stop:
		case <-timer.C:
		}
		timer.Stop()
	}
}
