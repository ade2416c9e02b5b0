// spire-host-go: a SPIRE-like go-plugin host for interop tests, built on hashicorp go-plugin
// v1.8.0 (the version SPIRE 1.15 pins; 1.13.3 pins v1.7.0, whose client side is the same for
// what this host does) from the Go module proxy: see go.mod.
//
// It launches a plugin the way spiffe/spire pkg/common/catalog/external.go does (MagicCookieKey
// = MagicCookieValue = "NodeAttestor", protocol 1, gRPC only, AutoMTLS off, optional
// SecureConfig checksum); go-plugin itself opens the GRPCStdio stream and does the broker and
// controller. Like SPIRE's catalog it serves host services on broker id 1 during dispense
// (AgentStore backed by -agents and a Metrics recorder on the server side, Metrics only on the
// agent side, pkg/server/catalog vs pkg/agent/catalog), calls Init with those names and binds
// by the names the plugin returns, logging any other as SPIRE's "Unsupported plugin service
// found" (pkg/common/catalog/plugin.go); then Configure, Validate, Attest / AidAttestation,
// Deinit, and go-plugin Kill (Shutdown + 2 s grace + SIGKILL).
//
// Messages are encoded by hand (protowire-style helpers below) and sent with a raw-bytes
// codec, so no generated Go code is needed.
//
// Output: one JSON object per line on stdout ("event" names what happened); exit status 0
// when every step succeeded, 1 otherwise, 2 for usage errors.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	serverNodeAttestor = "spire.plugin.server.nodeattestor.v1.NodeAttestor"
	agentNodeAttestor  = "spire.plugin.agent.nodeattestor.v1.NodeAttestor"
	agentStoreService  = "spire.hostservice.server.agentstore.v1.AgentStore"
	metricsService     = "spire.hostservice.common.metrics.v1.Metrics"
	identityProvider   = "spire.hostservice.server.identityprovider.v1.IdentityProvider"
	configService      = "spire.service.common.config.v1.Config"
)

// ---------- output ----------

var outMu sync.Mutex

func emit(event string, fields map[string]interface{}) {
	if fields == nil {
		fields = map[string]interface{}{}
	}
	fields["event"] = event
	b, _ := json.Marshal(fields)
	outMu.Lock()
	os.Stdout.Write(append(b, '\n'))
	outMu.Unlock()
}

func statusFields(err error) map[string]interface{} {
	st, _ := status.FromError(err)
	return map[string]interface{}{"code": st.Code().String(), "message": st.Message()}
}

// logSink receives the host logger's JSON records (go-plugin re-logs the plugin's stderr
// through it, like SPIRE's hclog->logrus adapter) and turns each into a "log" event.
type logSink struct {
	mu          sync.Mutex
	buf         []byte
	notGraceful bool
	exitErrors  []string
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := strings.IndexByte(string(s.buf), '\n')
		if i < 0 {
			break
		}
		line := s.buf[:i]
		s.buf = s.buf[i+1:]
		var rec map[string]interface{}
		if err := json.Unmarshal(line, &rec); err != nil {
			emit("log", map[string]interface{}{"level": "raw", "message": string(line)})
			continue
		}
		msg, _ := rec["@message"].(string)
		level, _ := rec["@level"].(string)
		module, _ := rec["@module"].(string)
		fields := map[string]interface{}{}
		for k, v := range rec {
			if k == "@message" || k == "@level" || k == "@module" || k == "@timestamp" {
				continue
			}
			fields[k] = v
		}
		if msg == "plugin failed to exit gracefully" {
			s.notGraceful = true
		}
		if msg == "plugin process exited" {
			if e, ok := fields["error"].(string); ok {
				s.exitErrors = append(s.exitErrors, e)
			}
		}
		emit("log", map[string]interface{}{"level": level, "message": msg, "module": module, "fields": fields})
	}
	return len(p), nil
}

// ---------- protobuf wire helpers ----------

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendBytesField(b []byte, num int, v []byte) []byte {
	b = appendVarint(b, uint64(num)<<3|2)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendStringField(b []byte, num int, v string) []byte {
	return appendBytesField(b, num, []byte(v))
}

type field struct {
	num    int
	wire   int
	varint uint64
	bytes  []byte
}

func parseMessage(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		tag, n := readVarint(b)
		if n <= 0 {
			return nil, errors.New("bad tag")
		}
		b = b[n:]
		f := field{num: int(tag >> 3), wire: int(tag & 7)}
		switch f.wire {
		case 0:
			v, n := readVarint(b)
			if n <= 0 {
				return nil, errors.New("bad varint")
			}
			f.varint = v
			b = b[n:]
		case 2:
			l, n := readVarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, errors.New("bad length")
			}
			f.bytes = b[n : n+int(l)]
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return nil, errors.New("bad fixed32")
			}
			b = b[4:]
		case 1:
			if len(b) < 8 {
				return nil, errors.New("bad fixed64")
			}
			b = b[8:]
		default:
			return nil, fmt.Errorf("unsupported wire type %d", f.wire)
		}
		out = append(out, f)
	}
	return out, nil
}

func readVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}

// rawCodec passes already-encoded messages through. Its name is "proto" so the wire
// content-type stays application/grpc+proto, exactly what a generated client would send.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	p, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: unexpected %T", v)
	}
	return *p, nil
}
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: unexpected %T", v)
	}
	*p = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string   { return "proto" }
func (rawCodec) String() string { return "proto" }

var codec = grpc.ForceCodec(rawCodec{})

func invoke(ctx context.Context, conn *grpc.ClientConn, method string, req []byte) ([]byte, error) {
	var resp []byte
	err := conn.Invoke(ctx, method, &req, &resp, codec)
	return resp, err
}

// ---------- host services (SPIRE's side of broker id 1) ----------

type hostServices struct {
	mu     sync.Mutex
	agents map[string]bool
	// agentStoreErr, when set, is SPIRE's answer before its catalog has finished loading.
	agentStoreUninitialized bool
}

// handle serves what SPIRE's catalog of that side offers: the agent's has no AgentStore.
func (h *hostServices) handle(side string, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	if side == "agent" && strings.HasPrefix(method, "/"+agentStoreService+"/") {
		return status.Errorf(codes.Unimplemented, "unknown service %s", agentStoreService)
	}
	var req []byte
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	fields, err := parseMessage(req)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	switch {
	case method == "/"+agentStoreService+"/GetAgentInfo":
		var agentID string
		for _, f := range fields {
			if f.num == 1 && f.wire == 2 {
				agentID = string(f.bytes)
			}
		}
		emit("agentstore", map[string]interface{}{"agent_id": agentID})
		if h.agentStoreUninitialized {
			return status.Error(codes.FailedPrecondition, "AgentStore host service has not been initialized")
		}
		h.mu.Lock()
		known := h.agents[agentID]
		h.mu.Unlock()
		if !known {
			return status.Error(codes.NotFound, "no such agent")
		}
		resp := appendBytesField(nil, 1, appendStringField(nil, 1, agentID))
		return stream.SendMsg(&resp)
	case strings.HasPrefix(method, "/"+metricsService+"/"):
		var key []string
		for _, f := range fields {
			if f.num == 1 && f.wire == 2 {
				key = append(key, string(f.bytes))
			}
		}
		emit("metric", map[string]interface{}{"method": strings.TrimPrefix(method, "/"+metricsService+"/"), "key": key})
		empty := []byte{}
		return stream.SendMsg(&empty)
	}
	return status.Errorf(codes.Unimplemented, "unknown host service method %s", method)
}

// ---------- the go-plugin "plugin" whose dispense does what SPIRE's catalog does ----------

type spirePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	host           *hostServices
	side           string
	noHostServices bool
}

type dispensed struct {
	conn *grpc.ClientConn
}

func (p *spirePlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host only")
}

func (p *spirePlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	if !p.noHostServices {
		// SPIRE's catalog: Accept(1) during dispense, before Init, serving every host service
		// on one plaintext gRPC server.
		lis, err := broker.Accept(1)
		if err != nil {
			return nil, fmt.Errorf("broker accept: %v", err)
		}
		srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(func(_ interface{}, stream grpc.ServerStream) error {
			return p.host.handle(p.side, stream)
		}))
		go srv.Serve(lis)
		go func() {
			<-ctx.Done()
			srv.Stop()
		}()
	}
	return &dispensed{conn: conn}, nil
}

// ---------- one loaded plugin ----------

type options struct {
	checksum       string
	trustDomain    string
	config         string
	validate       bool
	noHostServices bool
	autoMTLS       bool
	inflight       bool
	agents         string
	uninitialized  bool
	metadata       string
	payload        string
	responses      string
	challenges     string
	loads          int
	skipConfigure  bool
}

type loaded struct {
	client *plugin.Client
	conn   *grpc.ClientConn
	sink   *logSink
	side   string
}

func sha256File(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

func load(o *options, host *hostServices, cmdPath string, args []string, side string) (*loaded, error) {
	abs, err := filepath.Abs(cmdPath)
	if err != nil {
		return nil, err
	}
	sink := &logSink{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Trace, JSONFormat: true, Output: sink})
	cfg := &plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "NodeAttestor",
			MagicCookieValue: "NodeAttestor",
		},
		Plugins:          map[string]plugin.Plugin{"NodeAttestor": &spirePlugin{host: host, side: side, noHostServices: o.noHostServices}},
		Cmd:              exec.Command(abs, args...),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		AutoMTLS:         o.autoMTLS,
	}
	if o.checksum != "" && o.checksum != "none" {
		var sum []byte
		if o.checksum == "auto" {
			sum, err = sha256File(abs)
			if err != nil {
				return nil, err
			}
		} else {
			sum, err = hex.DecodeString(o.checksum)
			if err != nil {
				return nil, fmt.Errorf("checksum is not a valid hex string: %v", err)
			}
		}
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	start := time.Now()
	client := plugin.NewClient(cfg)
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, err
	}
	raw, err := rpc.Dispense("NodeAttestor")
	if err != nil {
		client.Kill()
		return nil, err
	}
	l := &loaded{client: client, conn: raw.(*dispensed).conn, sink: sink, side: side}
	emit("started", map[string]interface{}{"side": side, "ms": msSince(start)})

	hostNames := []string{metricsService}
	if side == "server" {
		hostNames = []string{identityProvider, agentStoreService, metricsService}
	}
	var initReq []byte
	for _, n := range hostNames {
		initReq = appendStringField(initReq, 1, n)
	}
	resp, err := invoke(context.Background(), l.conn, "/spire.service.private.init.v1.Init/Init", initReq)
	if err != nil {
		emit("init", statusFields(err))
		l.unload()
		return nil, fmt.Errorf("init: %v", err)
	}
	fields, _ := parseMessage(resp)
	var served []string
	for _, f := range fields {
		if f.num == 1 {
			served = append(served, string(f.bytes))
		}
	}
	// SPIRE binds the side's NodeAttestor and Config; every other name it logs as a warning.
	want := serverNodeAttestor
	if side == "agent" {
		want = agentNodeAttestor
	}
	found := false
	unsupported := []string{}
	for _, s := range served {
		switch s {
		case want:
			found = true
		case configService:
		default:
			unsupported = append(unsupported, s)
		}
	}
	emit("init", map[string]interface{}{"code": "OK", "side": side, "host_services": hostNames, "services": served, "unsupported": unsupported})
	for _, s := range unsupported {
		emit("log", map[string]interface{}{"level": "warn", "message": "Unsupported plugin service found", "module": "host", "fields": map[string]interface{}{"plugin_service": s}})
	}
	if !found {
		l.unload()
		return nil, fmt.Errorf("no supported plugin interface found in: %v", served)
	}

	core := appendStringField(nil, 1, o.trustDomain)
	cfgReq := appendStringField(appendBytesField(nil, 1, core), 2, o.config)
	if o.validate {
		resp, err := invoke(context.Background(), l.conn, "/spire.service.common.config.v1.Config/Validate", cfgReq)
		if err != nil {
			emit("validate", statusFields(err))
		} else {
			fields, _ := parseMessage(resp)
			valid := false
			notes := []string{}
			for _, f := range fields {
				if f.num == 1 {
					valid = f.varint != 0
				} else if f.num == 2 {
					notes = append(notes, string(f.bytes))
				}
			}
			emit("validate", map[string]interface{}{"code": "OK", "valid": valid, "notes": notes})
		}
	}
	if !o.skipConfigure {
		if _, err := invoke(context.Background(), l.conn, "/spire.service.common.config.v1.Config/Configure", cfgReq); err != nil {
			emit("configure", statusFields(err))
			l.unload()
			return nil, fmt.Errorf("configure: %v", err)
		}
		emit("configure", map[string]interface{}{"code": "OK"})
	}
	emit("loaded", map[string]interface{}{"side": side, "ms": msSince(start)})
	return l, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// unload does what SPIRE does: Deinit (10 s), then go-plugin Kill (close broker, Shutdown,
// 2 s grace, SIGKILL). It reports whether the process exited on its own.
func (l *loaded) unload() bool {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := invoke(ctx, l.conn, "/spire.service.private.init.v1.Init/Deinit", nil)
	cancel()
	if err != nil {
		emit("deinit", statusFields(err))
	} else {
		emit("deinit", map[string]interface{}{"code": "OK"})
	}
	l.client.Kill()
	// go-plugin logs "plugin process exited" from another goroutine; give it a moment.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		l.sink.mu.Lock()
		n := len(l.sink.exitErrors)
		l.sink.mu.Unlock()
		if n > 0 || l.client.Exited() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.sink.mu.Lock()
	graceful := !l.sink.notGraceful && len(l.sink.exitErrors) == 0
	exitErrors := append([]string{}, l.sink.exitErrors...)
	l.sink.mu.Unlock()
	emit("unloaded", map[string]interface{}{"side": l.side, "graceful": graceful, "exit_errors": exitErrors, "ms": msSince(start)})
	return graceful
}

func outgoing(ctx context.Context, o *options) context.Context {
	if o.metadata == "" {
		return ctx
	}
	var kv []string
	for _, pair := range strings.Split(o.metadata, ",") {
		i := strings.IndexByte(pair, '=')
		if i > 0 {
			kv = append(kv, pair[:i], pair[i+1:])
		}
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

func b64list(s string) ([][]byte, error) {
	var out [][]byte
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		b, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// attest drives a server Attest like SPIRE server: payload, then one challenge_response per
// challenge (from respond), then cancel once agent_attributes arrive.
func attest(l *loaded, o *options, payload []byte, respond func([]byte) ([]byte, error)) error {
	ctx, cancel := context.WithCancel(outgoing(context.Background(), o))
	defer cancel()
	stream, err := l.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true},
		"/spire.plugin.server.nodeattestor.v1.NodeAttestor/Attest", codec)
	if err != nil {
		return err
	}
	req := appendBytesField(nil, 1, payload)
	if err := stream.SendMsg(&req); err != nil && err != io.EOF {
		return err
	}
	for {
		var resp []byte
		if err := stream.RecvMsg(&resp); err != nil {
			if err == io.EOF {
				f := map[string]interface{}{"code": "Internal", "message": "plugin closed stream unexpectedly"}
				emit("attest", f)
				return errors.New("plugin closed stream unexpectedly")
			}
			emit("attest", statusFields(err))
			return err
		}
		fields, err := parseMessage(resp)
		if err != nil || len(fields) == 0 {
			emit("attest", map[string]interface{}{"code": "Internal", "message": "plugin response missing challenge or agent attributes"})
			return errors.New("bad response")
		}
		f := fields[0]
		if f.num == 1 {
			emit("challenge", map[string]interface{}{"challenge": base64.StdEncoding.EncodeToString(f.bytes)})
			answer, err := respond(f.bytes)
			if err != nil {
				emit("attest", map[string]interface{}{"code": "Internal", "message": "challenge responder: " + err.Error()})
				return err
			}
			req := appendBytesField(nil, 2, answer)
			if err := stream.SendMsg(&req); err != nil && err != io.EOF {
				return err
			}
			continue
		}
		attrs, _ := parseMessage(f.bytes)
		out := map[string]interface{}{"code": "OK", "spiffe_id": "", "selector_values": []string{}, "can_reattest": false}
		sel := []string{}
		for _, a := range attrs {
			switch a.num {
			case 1:
				out["spiffe_id"] = string(a.bytes)
			case 2:
				sel = append(sel, string(a.bytes))
			case 3:
				out["can_reattest"] = a.varint != 0
			}
		}
		out["selector_values"] = sel
		emit("attest", out)
		if out["spiffe_id"] == "" {
			return errors.New("plugin response missing agent ID")
		}
		return nil // cancel() like SPIRE: no half-close
	}
}

// agentSession is an open AidAttestation stream: the payload arrived unprompted, and each
// challenge gets one response.
type agentSession struct {
	stream grpc.ClientStream
	cancel context.CancelFunc
}

func aidAttestation(l *loaded) (*agentSession, []byte, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := l.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true},
		"/spire.plugin.agent.nodeattestor.v1.NodeAttestor/AidAttestation", codec)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	var resp []byte
	if err := stream.RecvMsg(&resp); err != nil {
		cancel()
		if err == io.EOF {
			emit("payload", map[string]interface{}{"code": "Internal", "message": "plugin closed stream before returning attestation data"})
			return nil, nil, err
		}
		emit("payload", statusFields(err))
		return nil, nil, err
	}
	fields, _ := parseMessage(resp)
	if len(fields) == 0 || fields[0].num != 1 || len(fields[0].bytes) == 0 {
		cancel()
		emit("payload", map[string]interface{}{"code": "Internal", "message": "plugin response missing attestation payload"})
		return nil, nil, errors.New("missing payload")
	}
	payload := fields[0].bytes
	emit("payload", map[string]interface{}{"code": "OK", "payload": base64.StdEncoding.EncodeToString(payload)})
	return &agentSession{stream: stream, cancel: cancel}, payload, nil
}

func (s *agentSession) respond(challenge []byte) ([]byte, error) {
	req := appendBytesField(nil, 1, challenge)
	if err := s.stream.SendMsg(&req); err != nil {
		return nil, err
	}
	var resp []byte
	if err := s.stream.RecvMsg(&resp); err != nil {
		emit("challenge_response", statusFields(err))
		return nil, err
	}
	fields, _ := parseMessage(resp)
	if len(fields) == 0 || fields[0].num != 2 || len(fields[0].bytes) == 0 {
		return nil, errors.New("plugin response missing challenge response")
	}
	emit("challenge_response", map[string]interface{}{"code": "OK", "response": base64.StdEncoding.EncodeToString(fields[0].bytes)})
	return fields[0].bytes, nil
}

// ---------- modes ----------

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  spire-host-go load      [flags] -- <plugin_cmd> [plugin_args...]   Init, Configure, unload (-n times)
  spire-host-go attest    [flags] -- <plugin_cmd> [plugin_args...]   server side: Attest(-payload)
  spire-host-go aid       [flags] -- <plugin_cmd> [plugin_args...]   agent side: AidAttestation
  spire-host-go roundtrip [flags] -- <plugin_cmd>                    agent payload -> server Attest,
                                                                    challenges relayed ("agent"/"server"
                                                                    appended unless -no-args)
flags:
`)
	flag.PrintDefaults()
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	o := &options{}
	fs.StringVar(&o.checksum, "checksum", "", `plugin_checksum: hex sha256, "auto" (hash the file), or empty/"none"`)
	fs.StringVar(&o.trustDomain, "trust-domain", "example.org", "core_configuration.trust_domain")
	configFile := fs.String("config-file", "", "hcl_configuration read from this file")
	fs.StringVar(&o.config, "config", "", "hcl_configuration")
	agentConfigFile := fs.String("agent-config-file", "", "roundtrip: agent hcl_configuration file")
	serverConfigFile := fs.String("server-config-file", "", "roundtrip: server hcl_configuration file")
	fs.BoolVar(&o.validate, "validate", false, "call Config/Validate before Configure")
	fs.BoolVar(&o.skipConfigure, "skip-configure", false, "do not call Configure")
	fs.BoolVar(&o.noHostServices, "no-host-services", false, "never send broker ConnInfo id 1")
	fs.BoolVar(&o.autoMTLS, "automtls", false, "go-plugin AutoMTLS (SPIRE keeps it off)")
	fs.BoolVar(&o.inflight, "inflight", false, "load: open a NodeAttestor stream and unload while it is in flight")
	fs.StringVar(&o.agents, "agents", "", "AgentStore: comma-separated attested agent IDs")
	fs.BoolVar(&o.uninitialized, "agentstore-uninitialized", false, "AgentStore answers FailedPrecondition")
	fs.StringVar(&o.metadata, "metadata", "", "attest: outgoing metadata k=v,k=v (x-forwarded-client-ip=...)")
	fs.StringVar(&o.payload, "payload", "", "attest: base64 payload")
	payloadFile := fs.String("payload-file", "", "attest: payload read from this file")
	fs.StringVar(&o.responses, "responses", "", "attest: base64 challenge responses, comma-separated, in order")
	fs.StringVar(&o.challenges, "challenges", "", "aid: base64 challenges to send, comma-separated")
	side := fs.String("side", "", "load: the SPIRE side imitated, server|agent (default: from plugin_args[0] if it names one, else server)")
	noArgs := fs.Bool("no-args", false, "roundtrip: start both plugins without plugin_args (the plugin picks its side at Init)")
	fs.IntVar(&o.loads, "n", 1, "load: repeat load+unload this many times")
	fs.Usage = usage
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	cmd := fs.Args()
	if len(cmd) == 0 {
		usage()
		os.Exit(2)
	}
	readFile := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			emit("error", map[string]interface{}{"message": err.Error()})
			os.Exit(2)
		}
		return string(b)
	}
	if *configFile != "" {
		o.config = readFile(*configFile)
	}
	host := &hostServices{agents: map[string]bool{}, agentStoreUninitialized: o.uninitialized}
	for _, a := range strings.Split(o.agents, ",") {
		if a != "" {
			host.agents[a] = true
		}
	}
	if *side == "" {
		*side = "server"
		if len(cmd) > 1 && strings.HasPrefix(cmd[1], "agent") {
			*side = "agent"
		}
	}
	fail := func(err error) {
		emit("error", map[string]interface{}{"message": err.Error()})
		os.Exit(1)
	}

	switch mode {
	case "load":
		ok := true
		for i := 0; i < o.loads; i++ {
			l, err := load(o, host, cmd[0], cmd[1:], *side)
			if err != nil {
				fail(err)
			}
			if o.inflight {
				inflight(l)
			}
			if !l.unload() {
				ok = false
			}
		}
		if !ok {
			os.Exit(1)
		}
	case "attest":
		payload, err := base64.StdEncoding.DecodeString(o.payload)
		if err != nil {
			fail(err)
		}
		if *payloadFile != "" {
			payload = []byte(readFile(*payloadFile))
		}
		responses, err := b64list(o.responses)
		if err != nil {
			fail(err)
		}
		l, err := load(o, host, cmd[0], cmd[1:], "server")
		if err != nil {
			fail(err)
		}
		next := 0
		err = attest(l, o, payload, func([]byte) ([]byte, error) {
			if next >= len(responses) {
				return nil, errors.New("no more challenge responses (-responses)")
			}
			next++
			return responses[next-1], nil
		})
		graceful := l.unload()
		if err != nil || !graceful {
			os.Exit(1)
		}
	case "aid":
		challenges, err := b64list(o.challenges)
		if err != nil {
			fail(err)
		}
		l, err := load(o, host, cmd[0], cmd[1:], "agent")
		if err != nil {
			fail(err)
		}
		s, _, err := aidAttestation(l)
		if err == nil {
			for _, c := range challenges {
				if _, err = s.respond(c); err != nil {
					break
				}
			}
			s.cancel()
		}
		graceful := l.unload()
		if err != nil || !graceful {
			os.Exit(1)
		}
	case "roundtrip":
		agentOpts, serverOpts := *o, *o
		if *agentConfigFile != "" {
			agentOpts.config = readFile(*agentConfigFile)
		}
		if *serverConfigFile != "" {
			serverOpts.config = readFile(*serverConfigFile)
		}
		agentArgs := append([]string{}, cmd[1:]...)
		serverArgs := append([]string{}, cmd[1:]...)
		if !*noArgs {
			agentArgs = append(agentArgs, "agent")
			serverArgs = append(serverArgs, "server")
		}
		a, err := load(&agentOpts, host, cmd[0], agentArgs, "agent")
		if err != nil {
			fail(err)
		}
		s, err := load(&serverOpts, host, cmd[0], serverArgs, "server")
		if err != nil {
			a.unload()
			fail(err)
		}
		session, payload, err := aidAttestation(a)
		if err == nil {
			err = attest(s, &serverOpts, payload, session.respond)
			session.cancel()
		}
		ga := a.unload()
		gs := s.unload()
		if err != nil || !ga || !gs {
			os.Exit(1)
		}
	default:
		usage()
		os.Exit(2)
	}
}

// inflight opens the side's NodeAttestor stream without finishing it, so the unload that
// follows happens with an RPC in flight; the stream's final status is reported when it ends.
func inflight(l *loaded) {
	method := "/spire.plugin.server.nodeattestor.v1.NodeAttestor/Attest"
	if l.side == "agent" {
		method = "/spire.plugin.agent.nodeattestor.v1.NodeAttestor/AidAttestation"
	}
	stream, err := l.conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method, codec)
	if err != nil {
		emit("inflight", map[string]interface{}{"error": err.Error()})
		return
	}
	go func() {
		for {
			var resp []byte
			if err := stream.RecvMsg(&resp); err != nil {
				f := statusFields(err)
				if err == io.EOF {
					f = map[string]interface{}{"code": "OK"}
				}
				emit("inflight_done", f)
				return
			}
		}
	}()
	// Let the stream reach the plugin's handler before unloading.
	time.Sleep(100 * time.Millisecond)
	emit("inflight", map[string]interface{}{"method": method})
}
