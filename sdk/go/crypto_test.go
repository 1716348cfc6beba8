package logflux

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The shared vectors live in the Sluice repository (schemas/vectors); the workers and the
// Python and TypeScript SDKs are tested against the same files.
func readVectors(t *testing.T, name string, into any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "schemas", "vectors", name))
	if os.IsNotExist(err) {
		t.Skipf("schemas/vectors/%s is not beside this module (copied out of the Sluice repository?)", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatal(err)
	}
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	out, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncryptionMatchesTheSharedVectors(t *testing.T) {
	var file struct {
		Iterations int
		Vectors    []struct{ Name, Secret, Salt, IV, Plaintext, Key, Payload string }
	}
	readVectors(t, "logflux.json", &file)
	if file.Iterations != Iterations || len(file.Vectors) == 0 {
		t.Fatalf("vectors: %d iterations, %d vectors", file.Iterations, len(file.Vectors))
	}
	for _, v := range file.Vectors {
		key, err := Derive([]byte(v.Secret), b64(t, v.Salt), Iterations)
		if err != nil || hex.EncodeToString(key) != v.Key {
			t.Fatalf("%s: key %x (%v), want %s", v.Name, key, err, v.Key)
		}
		sealed, err := Seal(key, b64(t, v.IV), []byte(v.Plaintext))
		if err != nil || base64.StdEncoding.EncodeToString(sealed) != v.Payload {
			t.Fatalf("%s: payload %s (%v)", v.Name, base64.StdEncoding.EncodeToString(sealed), err)
		}
	}
}

// requests.json: the entries every SDK builds for the same records (salt 0..31, the IV of record
// i is 12 bytes of i), so the Go SDK's plaintexts match the others' byte for byte.
func TestEntriesMatchTheSharedRequestVectors(t *testing.T) {
	var file struct {
		Records [][4]json.RawMessage
		LogFlux struct {
			Secret, Node, Salt string
			Entries            []Entry
		} `json:"logflux"`
	}
	readVectors(t, "requests.json", &file)
	session, err := NewSession(file.LogFlux.Secret, b64(t, file.LogFlux.Salt))
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{cfg: Config{Node: file.LogFlux.Node}, session: session}
	for i, raw := range file.Records {
		var r record
		var fields map[string]any
		for j, into := range []any{&r.timestamp, &r.level, &r.message, &fields} {
			if err := json.Unmarshal(raw[j], into); err != nil {
				t.Fatal(err)
			}
		}
		r.fields = fields
		got, err := c.entry(r, bytes.Repeat([]byte{byte(i + 1)}, 12))
		if err != nil {
			t.Fatal(err)
		}
		if got != file.LogFlux.Entries[i] {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got, file.LogFlux.Entries[i])
		}
	}
}

func TestPlaintextIsTheMessageOrCompactJSONWithTheMessageFirst(t *testing.T) {
	plain, _ := Plaintext("just text <b>", nil)
	structured, _ := Plaintext("paid", map[string]any{"z": 1, "city": "München", "html": "<b>"})
	if string(plain) != "just text <b>" || string(structured) != `{"message":"paid","city":"München","html":"<b>","z":1}` {
		t.Fatalf("%s / %s", plain, structured)
	}
}
