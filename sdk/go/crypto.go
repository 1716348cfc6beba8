package logflux

// LogFlux encryption mode 1: AES-256-GCM with a PBKDF2-HMAC-SHA256 key (600,000 iterations),
// as the LogFlux doc, sluice_sdk/logflux.py and sdk/js/src/logflux.ts do it.
//
// One salt per Session: the key is derived once, and every entry gets a fresh 12-byte IV, so
// Sluice's workers (which cache derived keys by salt) derive once per session too.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sort"
)

// Iterations is the PBKDF2 iteration count the LogFlux doc requires.
const Iterations = 600_000

// Levels maps level names to the doc's loglevel numbers: 1 EMERGENCY … 8 DEBUG.
var Levels = map[string]int{
	"emergency": 1, "alert": 2, "critical": 3, "error": 4, "warning": 5, "notice": 6, "info": 7, "debug": 8,
}

// Derive returns the 32-byte AES key for a secret and salt.
func Derive(secret, salt []byte, iterations int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, string(secret), salt, iterations, 32)
}

// Seal returns the ciphertext followed by the 16-byte GCM tag, with no associated data.
func Seal(key, iv, plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return gcm.Seal(nil, iv, plaintext, nil), nil
}

// Entry is one element of POST /v1/batch's "entries", fields in the doc's order.
type Entry struct {
	Node           string `json:"node"`
	LogLevel       int    `json:"loglevel"`
	Timestamp      string `json:"timestamp"`
	EncryptionMode int    `json:"encryption_mode"`
	Payload        string `json:"payload"`
	IV             string `json:"iv"`
	Salt           string `json:"salt"`
}

// Session encrypts entries under one salt; the key derivation happens in NewSession, once.
type Session struct {
	salt    []byte
	saltB64 string
	aead    cipher.AEAD
}

// NewSession derives the key for secret under salt (32 random bytes when salt is nil).
func NewSession(secret string, salt []byte) (*Session, error) {
	if salt == nil {
		salt = make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
	}
	key, err := Derive([]byte(secret), salt, Iterations)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Session{salt: salt, saltB64: base64.StdEncoding.EncodeToString(salt), aead: aead}, nil
}

// Entry encrypts one log. With fields, the plaintext is a compact JSON object whose "message"
// becomes the stored body and whose other keys (sorted) become attributes; iv nil draws a fresh one.
func (s *Session) Entry(node, level, message, timestamp string, fields map[string]any, iv []byte) (Entry, error) {
	plaintext, err := Plaintext(message, fields)
	if err != nil {
		return Entry{}, err
	}
	if iv == nil {
		iv = make([]byte, 12)
		if _, err := rand.Read(iv); err != nil {
			return Entry{}, err
		}
	}
	level7, ok := Levels[level]
	if !ok {
		level7 = Levels["info"]
	}
	return Entry{
		Node: node, LogLevel: level7, Timestamp: timestamp, EncryptionMode: 1,
		Payload: base64.StdEncoding.EncodeToString(s.aead.Seal(nil, iv, plaintext, nil)),
		IV:      base64.StdEncoding.EncodeToString(iv), Salt: s.saltB64,
	}, nil
}

// Plaintext is the message itself, or with fields {"message":…,<sorted fields>} as compact JSON
// with UTF-8 unescaped: the bytes the Python and TypeScript SDKs write for the same record.
func Plaintext(message string, fields map[string]any) ([]byte, error) {
	if len(fields) == 0 {
		return []byte(message), nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "message" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out bytes.Buffer
	out.WriteString(`{"message":`)
	if err := writeJSON(&out, message); err != nil {
		return nil, err
	}
	for _, k := range keys {
		out.WriteByte(',')
		if err := writeJSON(&out, k); err != nil {
			return nil, err
		}
		out.WriteByte(':')
		if err := writeJSON(&out, fields[k]); err != nil {
			return nil, err
		}
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

func writeJSON(out *bytes.Buffer, value any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return err
	}
	out.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return nil
}
