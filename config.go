package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// usageError is a mistake on the command line; main exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// config is what the flags and their environment twins say.
type config struct {
	domain       string
	listen       string
	data         string
	user         string
	tlsCert      string
	tlsKey       string
	allowPrivate bool
	logLevel     string
	backupDir    string
	backupKeep   string
	retention    string
	mediaCache   string

	// --acme: HTTPS with certificates kith gets itself
	acme          string
	acmeDirectory string
	httpsListen   string
	httpListen    string

	// kith post
	title      string
	cw         string
	visibility string
	language   string
}

// defaultData is where kith keeps its database unless told otherwise.
const defaultData = "./kith-data"

// flagSpec describes one flag and its environment twin.
type flagSpec struct {
	name, env, def, usage string
	isBool                bool
}

// commonFlags are accepted by every command.
func commonFlags() []flagSpec {
	return []flagSpec{
		{name: "data", env: "KITH_DATA", def: defaultData, usage: "directory holding kith.db"},
		{name: "allow-private-networks", env: "KITH_ALLOW_PRIVATE_NETWORKS", isBool: true, usage: "let kith fetch from and deliver to loopback and private addresses (LANs, tests)"},
		{name: "log-level", env: "KITH_LOG_LEVEL", def: "info", usage: "debug, info, warn or error"},
	}
}

// serveFlags are the flags of kith serve, beyond the common ones.
func serveFlags() []flagSpec {
	return []flagSpec{
		{name: "domain", env: "KITH_DOMAIN", def: "localhost:8080", usage: "the public host name (and port, if not 443) people reach kith at; fixed at first start"},
		{name: "listen", env: "KITH_LISTEN", def: "127.0.0.1:8080", usage: "address to listen on"},
		{name: "user", env: "KITH_USER", def: "me", usage: "the account name, used at first start"},
		{name: "tls-cert", env: "KITH_TLS_CERT", usage: "TLS certificate file (PEM); serve HTTPS directly"},
		{name: "tls-key", env: "KITH_TLS_KEY", usage: "TLS private key file (PEM)"},
		{name: "acme", env: "KITH_ACME", usage: "your e-mail address: serve HTTPS on --https-listen with a certificate kith gets and renews from Let's Encrypt (needs ports 443 and 80)"},
		{name: "acme-directory", env: "KITH_ACME_DIRECTORY", def: letsEncrypt, usage: "the ACME directory URL of the CA for --acme (Let's Encrypt's staging, ZeroSSL, ...)"},
		{name: "https-listen", env: "KITH_HTTPS_LISTEN", def: ":443", usage: "with --acme: the HTTPS address"},
		{name: "http-listen", env: "KITH_HTTP_LISTEN", def: ":80", usage: "with --acme: the plain HTTP address (certificate checks, and a redirect to HTTPS)"},
		{name: "backup-dir", env: "KITH_BACKUP_DIR", usage: "write a backup of the database into this directory every day"},
		{name: "backup-keep", env: "KITH_BACKUP_KEEP", def: "7", usage: "how many daily backups to keep in --backup-dir"},
		{name: "retention", env: "KITH_RETENTION", def: "60d", usage: "how long remote posts you never liked, boosted, replied to, bookmarked or quoted are kept, in days (60d) or hours (720h)"},
		{name: "media-cache", env: "KITH_MEDIA_CACHE", def: "256MB", usage: "how much room images from other servers, cached for your pages, may take (256MB, 1GB); the least recently shown go first"},
	}
}

// postFlags are the flags of kith post.
func postFlags() []flagSpec {
	return []flagSpec{
		{name: "title", env: "KITH_POST_TITLE", usage: "a title: the post becomes an article"},
		{name: "cw", env: "KITH_POST_CW", usage: "a content warning shown before the text"},
		{name: "visibility", env: "KITH_POST_VISIBILITY", def: "public", usage: "public, unlisted, followers or direct"},
		{name: "language", env: "KITH_POST_LANGUAGE", usage: "the language of the text, e.g. en"},
	}
}

// parseFlags parses args for command cmd. Each flag's default comes from
// its environment twin when that is set, so a flag on the command line wins
// over the environment, which wins over the built-in default.
func parseFlags(cmd string, specs []flagSpec, args []string, getenv func(string) string, stderr io.Writer, usage string) (*config, []string, error) {
	fs := flag.NewFlagSet("kith "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &config{}
	targets := map[string]*string{
		"data": &cfg.data, "log-level": &cfg.logLevel, "domain": &cfg.domain, "listen": &cfg.listen,
		"user": &cfg.user, "tls-cert": &cfg.tlsCert, "tls-key": &cfg.tlsKey,
		"backup-dir": &cfg.backupDir, "backup-keep": &cfg.backupKeep, "retention": &cfg.retention,
		"media-cache": &cfg.mediaCache,
		"acme":        &cfg.acme, "acme-directory": &cfg.acmeDirectory, "https-listen": &cfg.httpsListen, "http-listen": &cfg.httpListen,
		"title": &cfg.title, "cw": &cfg.cw, "visibility": &cfg.visibility, "language": &cfg.language,
	}
	all := append(commonFlags(), specs...)
	for _, s := range all {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		help := s.usage + " (env " + s.env + ")"
		if s.isBool {
			b, err := parseBool(def)
			if err != nil {
				return nil, nil, usageError{fmt.Sprintf("%s=%q: want 1 or 0, true or false", s.env, def)}
			}
			fs.BoolVar(&cfg.allowPrivate, s.name, b, help)
			continue
		}
		fs.StringVar(targets[s.name], s.name, def, help)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kith %s\n\n", usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, usageError{err.Error()}
	}
	return cfg, fs.Args(), nil
}

func parseBool(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	return strconv.ParseBool(strings.ToLower(s))
}

// parseRetention reads --retention: days ("60d", or a bare number) or a
// Go duration ("720h"), at least a day.
func parseRetention(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
	if err == nil {
		d = time.Duration(days) * 24 * time.Hour
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, usageError{fmt.Sprintf("--retention %q: want days such as 60d, or hours such as 720h", s)}
	}
	if d < 24*time.Hour {
		return 0, usageError{fmt.Sprintf("--retention %q: keep remote posts at least a day", s)}
	}
	return d, nil
}

// parseMediaCache reads --media-cache: a size in kB, MB or GB (decimal, as
// the status page shows sizes; "256MB", "1.5GB"), or a bare number of
// megabytes, at least 1 MB. Empty means the default.
func parseMediaCache(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num, unit := strings.ToLower(strings.TrimSpace(s)), 1e6
	for _, u := range []struct {
		suffix string
		bytes  float64
	}{{"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}} {
		if strings.HasSuffix(num, u.suffix) {
			num, unit = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.bytes
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(n) || n*unit > 1e15 {
		return 0, usageError{fmt.Sprintf("--media-cache %q: want a size such as 256MB or 1GB", s)}
	}
	if n*unit < 1e6 {
		return 0, usageError{fmt.Sprintf("--media-cache %q: give the cache at least 1MB", s)}
	}
	return int64(n * unit), nil
}
