// Package logflux sends encrypted logs to Sluice's LogFlux endpoint, as the LogFlux doc's Go
// example writes it:
//
//	logflux.Init("https://c12345.ingest.us.logflux.io", "my-app", "lf_your_api_key", "your-secret")
//	defer logflux.Close()
//	logflux.Info("Service initialized")
//
// Init makes one process-wide failsafe Client (logging never returns an error once it has
// started); the level functions queue records that a background goroutine encrypts (AES-256-GCM,
// PBKDF2-HMAC-SHA256 with 600,000 iterations, once per client) and sends in batches of up to
// 100 to <url>/v1/batch, retrying on network errors, 429 and 5xx. Close delivers what is queued.
// Calling a level function before Init returns an error with code NOT_INITIALIZED.
package logflux

import "sync"

// LogFluxError is a logging failure with a machine-readable code: INVALID_CONFIG, NOT_INITIALIZED,
// QUEUE_FULL, CLOSED or UNDELIVERED.
type LogFluxError struct {
	Code    string
	Message string
}

func (e *LogFluxError) Error() string { return e.Code + ": " + e.Message }

var (
	mu      sync.Mutex
	current *Client
)

// Init starts the process-wide client with DefaultConfig, closing the previous one.
func Init(serverURL, node, apiKey, secret string) error {
	return InitWithConfig(DefaultConfig(serverURL, node, apiKey, secret))
}

// InitWithConfig starts the process-wide client with cfg, closing the previous one.
func InitWithConfig(cfg Config) error {
	c, err := NewClient(cfg)
	if err != nil {
		return err
	}
	mu.Lock()
	previous := current
	current = c
	mu.Unlock()
	if previous != nil {
		return previous.Close()
	}
	return nil
}

// Default returns the process-wide client, nil before Init.
func Default() *Client {
	mu.Lock()
	defer mu.Unlock()
	return current
}

func logDefault(level, message string, fields map[string]any) error {
	c := Default()
	if c == nil {
		return &LogFluxError{Code: "NOT_INITIALIZED", Message: "call logflux.Init(url, node, apiKey, secret) before logging"}
	}
	return c.Log(level, message, fields)
}

// Log queues one record with fields on the process-wide client.
func Log(level, message string, fields map[string]any) error {
	return logDefault(level, message, fields)
}

func Emergency(message string) error { return logDefault("emergency", message, nil) }
func Alert(message string) error     { return logDefault("alert", message, nil) }
func Critical(message string) error  { return logDefault("critical", message, nil) }
func Error(message string) error     { return logDefault("error", message, nil) }
func Warning(message string) error   { return logDefault("warning", message, nil) }
func Notice(message string) error    { return logDefault("notice", message, nil) }
func Info(message string) error      { return logDefault("info", message, nil) }
func Debug(message string) error     { return logDefault("debug", message, nil) }

// Close delivers what is queued and ends the process-wide client; nil without one.
func Close() error {
	mu.Lock()
	c := current
	current = nil
	mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
}
