package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mediagate.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(writeConfig(t, "signup_credit = 7\n[prices]\ndownload_per_mib = 5000\n"), mediagate.DefaultPrices())
	if err != nil {
		t.Fatal(err)
	}
	want := mediagate.DefaultPrices()
	want.DownloadPerMiB = 5000
	if c.Prices != want || c.SignupCredit == nil || *c.SignupCredit != 7 {
		t.Fatalf("config %+v (signup %v), want download 5000 over the defaults and signup 7", c.Prices, c.SignupCredit)
	}
	for name, text := range map[string]string{
		"unknown key":    "[prices]\ndownlod_per_mib = 1\n",
		"negative price": "[prices]\nupload_per_mib = -1\n",
		"wrong type":     "[prices]\nupload_per_mib = \"cheap\"\n",
		"malformed":      "[prices\n",
		"negative grant": "signup_credit = -5\n",
	} {
		if _, err := loadConfig(writeConfig(t, text), mediagate.DefaultPrices()); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "missing.toml"), mediagate.DefaultPrices()); err == nil {
		t.Error("a missing file loaded without error")
	}
}

// TestServeUsesConfigFile: serve applies the file (its signup credit is seen
// through the API; its prices are applied by the same assignment).
func TestServeUsesConfigFile(t *testing.T) {
	s := startServe(t, t.TempDir(), "--config", writeConfig(t, "signup_credit = 12345\n[prices]\ndownload_per_mib = 5000\n"))
	resp, err := http.Post(s.url+"/v1/auth/signup", "application/json", strings.NewReader(`{"email":"c@example.com","password":"long enough"}`))
	if err != nil {
		t.Fatal(err)
	}
	var signup struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&signup)
	resp.Body.Close()
	req, _ := http.NewRequest("GET", s.url+"/v1/account", nil)
	req.Header.Set("Authorization", "Bearer "+signup.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var acct struct{ Balance int64 }
	json.NewDecoder(resp.Body).Decode(&acct)
	if acct.Balance != 12345 {
		t.Fatalf("balance %d, want the config's signup credit 12345", acct.Balance)
	}
}

// TestLoadJobTypes: job types come from the config file with defaults
// filled in; a bad one fails the load, saying what is wrong.
func TestLoadJobTypes(t *testing.T) {
	c, err := loadConfig(writeConfig(t, `[prices]
job_run = 777
[job_types."audio.wavstats"]
content_types = ["audio/wav"]
params_schema = '{"type": "object", "properties": {"window_ms": {"type": "integer"}}}'
timeout = "90s"
ttl = "2h"
`), mediagate.DefaultPrices())
	if err != nil {
		t.Fatal(err)
	}
	jt, ok := c.JobTypes["audio.wavstats"]
	if !ok || jt.Name != "audio.wavstats" || jt.Price != 777 || jt.Timeout.Duration != 90*time.Second ||
		jt.TTL.Duration != 2*time.Hour || jt.MaxAttempts != 3 || jt.MaxInputSize != 1<<30 || jt.Pool != "audio.wavstats" {
		t.Fatalf("job type %+v", jt)
	}
	for name, text := range map[string]string{
		"no content types": "[job_types.a]\nprice = 1\n",
		"bad duration":     "[job_types.a]\ncontent_types = [\"audio/wav\"]\ntimeout = \"soon\"\n",
		"bad schema JSON":  "[job_types.a]\ncontent_types = [\"audio/wav\"]\nparams_schema = '{'\n",
		"bad schema":       "[job_types.a]\ncontent_types = [\"audio/wav\"]\nparams_schema = '{\"type\": 5}'\n",
		"bad name":         "[job_types.\"A B\"]\ncontent_types = [\"audio/wav\"]\n",
		"unknown key":      "[job_types.a]\ncontent_types = [\"audio/wav\"]\ntimout = \"1m\"\n",
	} {
		if _, err := loadConfig(writeConfig(t, text), mediagate.DefaultPrices()); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}
