package relais_test

// The packaging files (Dockerfile, docker-compose.yml, deploy/nginx.conf)
// cannot be built here: images cannot be pulled. These tests hold what can
// be checked without Docker, and `docker compose config` where Docker is.

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// instruction is one Dockerfile instruction, its continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN...
	args string
	line int
}

// stage is one FROM and the instructions under it.
type stage struct {
	from, name string
	body       []instruction
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// parseDockerfile reads a Dockerfile as the builder does: comments and
// blank lines skipped (a parser directive is a comment too), backslash
// continuations joined, one instruction per logical line.
func parseDockerfile(t *testing.T, path string) (args []instruction, stages []stage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var logical strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if logical.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if logical.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if logical.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, `\`) {
			logical.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		logical.WriteString(trimmed)
		cmd, rest, _ := strings.Cut(logical.String(), " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(rest), line: start}
		logical.Reset()
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case len(stages) == 0:
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", path, in.line, in.cmd)
			}
			args = append(args, in)
		default:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if logical.Len() > 0 {
		t.Fatalf("%s ends inside a continued line", path)
	}
	return args, stages
}

// envOf collects a stage's ENV settings (KEY=value forms).
func envOf(s stage) map[string]string {
	env := map[string]string{}
	for _, in := range s.all("ENV") {
		for _, kv := range strings.Fields(in.args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = strings.Trim(v, `"`)
			}
		}
	}
	return env
}

// goMinor is go.mod's Go version as major.minor, e.g. "1.26".
func goMinor(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	args, stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a small final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// The build stage: the Go toolchain go.mod asks for, no cgo.
	if !strings.HasPrefix(build.from, "golang:") || build.name == "" {
		t.Errorf("first stage FROM %s AS %q, want a named golang stage", build.from, build.name)
	}
	if want := "GO_VERSION=" + goMinor(t); !slices.ContainsFunc(args, func(in instruction) bool { return in.args == want }) ||
		!strings.Contains(build.from, "${GO_VERSION}") {
		t.Errorf("the build stage's Go is not ARG %s (go.mod's): FROM %s, args %v", want, build.from, args)
	}
	if envOf(build)["CGO_ENABLED"] != "0" {
		t.Error("the build stage does not set CGO_ENABLED=0: the binary would not be static")
	}
	var built string
	for _, in := range build.all("RUN") {
		if m := regexp.MustCompile(`go build .*-o (\S+) \./cmd/relais\b`).FindStringSubmatch(in.args); m != nil {
			built = m[1]
		}
	}
	if built == "" {
		t.Fatal("no RUN go build -o BIN ./cmd/relais in the build stage")
	}

	// The final stage: small, static, non-root, serving.
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless/static or scratch", final.from)
	}
	var binary string
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if slices.Contains(f, "--from="+build.name) && f[len(f)-2] == built {
			binary = f[len(f)-1]
		}
	}
	if binary == "" {
		t.Fatalf("the final stage does not copy %s from stage %s", built, build.name)
	}
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("no USER in the final stage: it would run as root")
	}
	if u, _, _ := strings.Cut(users[len(users)-1].args, ":"); u == "root" || u == "0" {
		t.Errorf("USER %s: want a non-root user", users[len(users)-1].args)
	}
	env := envOf(final)
	expose := final.all("EXPOSE")
	if len(expose) != 1 || ":"+expose[0].args != env["RELAIS_ADDR"] {
		t.Errorf("EXPOSE %v and RELAIS_ADDR %q disagree", expose, env["RELAIS_ADDR"])
	}
	if v := final.all("VOLUME"); len(v) != 1 || !strings.Contains(v[0].args, `"`+env["RELAIS_DATA_DIR"]+`"`) {
		t.Errorf("VOLUME %v is not RELAIS_DATA_DIR %q", v, env["RELAIS_DATA_DIR"])
	}
	ep, cmd := final.all("ENTRYPOINT"), final.all("CMD")
	if len(ep) != 1 || ep[0].args != `["`+binary+`"]` || len(cmd) != 1 || cmd[0].args != `["serve"]` {
		t.Errorf("ENTRYPOINT %v CMD %v, want [%q] and [\"serve\"]", ep, cmd, binary)
	}

	// The build context keeps what the build needs.
	raw, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	ignored := strings.Fields(string(regexp.MustCompile(`(?m)#.*$`).ReplaceAll(raw, nil)))
	if !slices.Contains(ignored, ".git") {
		t.Error(".dockerignore does not leave out .git")
	}
	for _, needed := range []string{"go.mod", "go.sum", "cmd", "*.go", "**/*.go"} {
		if slices.Contains(ignored, needed) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", needed)
		}
	}
}

// compose is the part of docker-compose.yml the test reads.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   any               `yaml:"depends_on"`
	} `yaml:"services"`
}

func TestComposeFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	pg, ok := c.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "pgvector/pgvector:") {
		t.Fatalf("no postgres service on the pgvector image: %+v", pg)
	}
	var replicas, built []string
	var relaisImage string
	for name, s := range c.Services {
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			continue
		}
		replicas = append(replicas, name)
		if relaisImage == "" {
			relaisImage = s.Image
		}
		if s.Image != relaisImage {
			t.Errorf("replica %s runs image %q, another %q", name, s.Image, relaisImage)
		}
		if s.Build != nil {
			built = append(built, name)
		}
		url := s.Environment["RELAIS_DATABASE_URL"]
		if !strings.Contains(url, "@postgres:5432/"+pg.Environment["POSTGRES_DB"]) ||
			!strings.HasPrefix(url, "postgres://"+pg.Environment["POSTGRES_USER"]+":"+pg.Environment["POSTGRES_PASSWORD"]+"@") {
			t.Errorf("replica %s: RELAIS_DATABASE_URL %q is not the postgres service's database", name, url)
		}
		if s.Environment["RELAIS_ADMIN_TOKEN"] == "" {
			t.Errorf("replica %s has no RELAIS_ADMIN_TOKEN", name)
		}
		if deps, _ := s.DependsOn.(map[string]any); deps["postgres"] == nil {
			t.Errorf("replica %s does not wait for postgres", name)
		}
		if len(s.Ports) > 0 {
			t.Errorf("replica %s publishes %v: the proxy is the one port", name, s.Ports)
		}
		// An intents file a replica reads must be in the image.
		if f := s.Environment["RELAIS_INTENTS_FILE"]; f != "" {
			df, err := os.ReadFile("Dockerfile")
			if err != nil || !regexp.MustCompile(`(?m)^COPY .* `+regexp.QuoteMeta(f)+`$`).Match(df) {
				t.Errorf("replica %s reads RELAIS_INTENTS_FILE %s, which the Dockerfile does not copy into the image", name, f)
			}
		}
	}
	if len(replicas) < 2 || len(built) != 1 {
		t.Fatalf("replicas %v (built by %v): want two or more, one building the image", replicas, built)
	}

	// One port in front, its upstream every replica on the port the image
	// exposes.
	var front []string
	for name, s := range c.Services {
		if len(s.Ports) > 0 {
			front = append(front, name)
		}
	}
	if len(front) != 1 {
		t.Fatalf("services publishing ports: %v, want one", front)
	}
	proxy := c.Services[front[0]]
	var conf string
	for _, v := range proxy.Volumes {
		if host, _, ok := strings.Cut(v, ":"); ok && strings.HasSuffix(host, ".conf") {
			conf = host
		}
	}
	if conf == "" {
		t.Fatalf("proxy %s mounts no configuration file", front[0])
	}
	nginx, err := os.ReadFile(conf)
	if err != nil {
		t.Fatalf("proxy configuration: %v", err)
	}
	_, stages := parseDockerfile(t, "Dockerfile")
	port := stages[len(stages)-1].all("EXPOSE")[0].args
	upstream := regexp.MustCompile(`(?m)^\s*server\s+([\w.-]+):(\d+)`).FindAllStringSubmatch(string(nginx), -1)
	var targets []string
	for _, m := range upstream {
		if m[2] != port {
			t.Errorf("upstream %s:%s is not on the port the image exposes (%s)", m[1], m[2], port)
		}
		targets = append(targets, m[1])
	}
	slices.Sort(targets)
	slices.Sort(replicas)
	if !slices.Equal(targets, replicas) {
		t.Errorf("the proxy's upstream is %v, the replicas %v", targets, replicas)
	}
	if !strings.Contains(string(nginx), "proxy_buffering off") {
		t.Error("the proxy buffers responses: event streams would stall")
	}
}

// TestComposeConfig lets Docker Compose itself validate the file, where
// it is installed.
func TestComposeConfig(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "compose", "version").Run(); err != nil {
		t.Skip("docker compose is not installed")
	}
	cmd := exec.CommandContext(ctx, "docker", "compose", "-f", "docker-compose.yml", "config", "--quiet")
	cmd.Env = append(os.Environ(), "RELAIS_ADMIN_TOKEN=compose-config-check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
}
