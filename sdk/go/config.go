package logflux

// A client's configuration and its counters.

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxBatch is the LogFlux doc's limit of entries per /v1/batch request.
const MaxBatch = 100

// Config of a Client; DefaultConfig fills what the doc's Init does not name.
type Config struct {
	ServerURL     string // https://<customer-id>.ingest.<region>.logflux.io, with or without /v1
	Node          string // the node every entry names (the doc: which server or service sent it)
	APIKey        string
	Secret        string
	FailsafeMode  bool          // true: never an error from logging; false: refusals and losses are errors
	QueueSize     int           // records buffered while the server is unreachable
	BatchSize     int           // entries per request, at most MaxBatch
	FlushInterval time.Duration // the longest a record waits for its batch to fill
	Timeout       time.Duration // one request
	CloseTimeout  time.Duration // Close's deadline to deliver what is queued
	BackoffBase   time.Duration
	BackoffCap    time.Duration
	HTTPClient    *http.Client
}

// DefaultConfig is what Init uses: failsafe, 1,000 queued records, batches of 100 within a second.
func DefaultConfig(serverURL, node, apiKey, secret string) Config {
	return Config{
		ServerURL: serverURL, Node: node, APIKey: apiKey, Secret: secret, FailsafeMode: true,
		QueueSize: 1000, BatchSize: MaxBatch, FlushInterval: time.Second, Timeout: 10 * time.Second,
		CloseTimeout: 10 * time.Second, BackoffBase: 500 * time.Millisecond, BackoffCap: 30 * time.Second,
	}
}

// Stats counts what became of the records.
type Stats struct {
	Sent      int64 // accepted by the server
	Dropped   int64 // refused because the queue was full or the client closed
	Rejected  int64 // in batches the server refused for good (400, 401, 403, 413)
	Abandoned int64 // still queued or in flight when the client closed
	Retries   int64 // requests sent again
}

// checked refuses a config that cannot work, fills unset values from DefaultConfig, and returns
// the base URL (the doc writes the endpoint both with and without /v1).
func (cfg Config) checked() (Config, string, error) {
	base := strings.TrimSuffix(strings.TrimRight(cfg.ServerURL, "/"), "/v1")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, "", &LogFluxError{Code: "INVALID_CONFIG", Message: "the server URL must be http(s)://host[:port], e.g. https://c12345.ingest.us.logflux.io"}
	}
	if cfg.APIKey == "" || cfg.Secret == "" {
		return cfg, "", &LogFluxError{Code: "INVALID_CONFIG", Message: "an API key and an encryption secret are both required"}
	}
	defaults := DefaultConfig("", "", "", "")
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = defaults.QueueSize
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > MaxBatch {
		cfg.BatchSize = MaxBatch
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.FlushInterval, defaults.FlushInterval}, {&cfg.Timeout, defaults.Timeout},
		{&cfg.CloseTimeout, defaults.CloseTimeout}, {&cfg.BackoffBase, defaults.BackoffBase},
		{&cfg.BackoffCap, defaults.BackoffCap},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	return cfg, base, nil
}
