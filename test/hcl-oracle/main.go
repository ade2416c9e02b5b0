// Command hcl-oracle is the ground truth for src/hcl: it runs hashicorp/hcl v1 (v1.0.0; go.mod
// says how SPIRE's pinned v1.0.1-vault-7 differs) on each request read from stdin and prints
// one JSON result per request.
//
// Request: {"mode": "generic"|"typed"|"spire", "input": "<base64>"}
//   generic: hcl.Decode into map[string]interface{}, as Go plugins and SPIRE tooling see it.
//   typed:   hcl.Decode into a struct shaped like SPIRE's aws_iid IIDAttestorConfig.
//   spire:   SPIRE's path for a whole server.conf: plugins node -> NodeAttestor entries ->
//            plugin_data printed with printer.DefaultConfig, then decoded generically.
// Values are tagged ({"s":..}, {"i":"digits"}, {"f":..}, {"b":..}, {"map":{}}, {"list":[]})
// so that int/float/string distinctions and int64 digits survive JSON.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/printer"
)

type request struct {
	Mode  string `json:"mode"`
	Input string `json:"input"`
}

type result struct {
	Value   interface{} `json:"value,omitempty"`
	Error   *string     `json:"error,omitempty"`
	Panic   *string     `json:"panic,omitempty"`
	Plugins []plugin    `json:"plugins,omitempty"`
}

type plugin struct {
	Name      string      `json:"name"`
	PluginCmd string      `json:"plugin_cmd"`
	HasData   bool        `json:"has_data"`
	Data      string      `json:"data"`
	Value     interface{} `json:"value,omitempty"`
	Error     *string     `json:"error,omitempty"`
	Panic     *string     `json:"panic,omitempty"`
}

func tag(v interface{}) interface{} {
	switch x := v.(type) {
	case map[string]interface{}:
		m := map[string]interface{}{}
		for k, e := range x {
			m[k] = tag(e)
		}
		return map[string]interface{}{"map": m}
	case []map[string]interface{}:
		l := []interface{}{}
		for _, e := range x {
			l = append(l, tag(e))
		}
		return map[string]interface{}{"list": l}
	case []interface{}:
		l := []interface{}{}
		for _, e := range x {
			l = append(l, tag(e))
		}
		return map[string]interface{}{"list": l}
	case string:
		return map[string]interface{}{"s": x}
	case int:
		return map[string]interface{}{"i": strconv.Itoa(x)}
	case float64:
		return map[string]interface{}{"f": x}
	case bool:
		return map[string]interface{}{"b": x}
	default:
		return map[string]interface{}{"unknown": fmt.Sprintf("%T", v)}
	}
}

type orgCfg struct {
	AccountID       string `hcl:"management_account_id" json:"management_account_id"`
	AccountRole     string `hcl:"assume_org_role" json:"assume_org_role"`
	AccountRegion   string `hcl:"management_account_region" json:"management_account_region"`
	AccountListTTL  string `hcl:"org_account_map_ttl" json:"org_account_map_ttl"`
	AccountListFile string `hcl:"account_list_file" json:"account_list_file"`
	MissRetries     int    `hcl:"org_account_miss_retries" json:"org_account_miss_retries"`
}

type eksCfg struct {
	EKSClusterNames []string `hcl:"eks_cluster_names" json:"eks_cluster_names"`
}

// typedConfig mirrors SPIRE's IIDAttestorConfig (with SessionConfig squashed) plus a few of
// our own scalar keys, so each Go coercion (string, bool, int, []string, *struct) is covered.
type typedConfig struct {
	AccessKeyID                     string   `hcl:"access_key_id" json:"access_key_id"`
	SecretAccessKey                 string   `hcl:"secret_access_key" json:"secret_access_key"`
	SkipBlockDevice                 bool     `hcl:"skip_block_device" json:"skip_block_device"`
	DisableInstanceProfileSelectors bool     `hcl:"disable_instance_profile_selectors" json:"disable_instance_profile_selectors"`
	LocalValidAcctIDs               []string `hcl:"account_ids_for_local_validation" json:"account_ids_for_local_validation"`
	AgentPathTemplate               string   `hcl:"agent_path_template" json:"agent_path_template"`
	AssumeRole                      string   `hcl:"assume_role" json:"assume_role"`
	Partition                       string   `hcl:"partition" json:"partition"`
	VerifyOrganization              *orgCfg  `hcl:"verify_organization" json:"verify_organization"`
	ValidateEKS                     *eksCfg  `hcl:"validate_eks_cluster_membership" json:"validate_eks_cluster_membership"`
	ImdsRetries                     int      `hcl:"imds_retries" json:"imds_retries"`
	MaxLaunchAge                    string   `hcl:"max_launch_age" json:"max_launch_age"`
}

type hclPluginConfig struct {
	PluginCmd      string   `hcl:"plugin_cmd"`
	PluginArgs     []string `hcl:"plugin_args"`
	PluginChecksum string   `hcl:"plugin_checksum"`
	PluginData     ast.Node `hcl:"plugin_data"`
	PluginDataFile *string  `hcl:"plugin_data_file"`
	Enabled        *bool    `hcl:"enabled"`
}

type serverConf struct {
	Plugins ast.Node `hcl:"plugins"`
}

func errString(err error) *string {
	s := err.Error()
	return &s
}

func generic(text string) (v interface{}, e *string, p *string) {
	defer func() {
		if r := recover(); r != nil {
			s := fmt.Sprint(r)
			p = &s
			v, e = nil, nil
		}
	}()
	var m map[string]interface{}
	if err := hcl.Decode(&m, text); err != nil {
		return nil, errString(err), nil
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return tag(m), nil, nil
}

func typed(text string) (v interface{}, e *string, p *string) {
	defer func() {
		if r := recover(); r != nil {
			s := fmt.Sprint(r)
			p = &s
			v, e = nil, nil
		}
	}()
	var c typedConfig
	if err := hcl.Decode(&c, text); err != nil {
		return nil, errString(err), nil
	}
	return c, nil, nil
}

func spire(text string) (res result) {
	defer func() {
		if r := recover(); r != nil {
			s := fmt.Sprint(r)
			res = result{Panic: &s}
		}
	}()
	var c serverConf
	if err := hcl.Decode(&c, text); err != nil {
		return result{Error: errString(err)}
	}
	if c.Plugins == nil {
		return result{Plugins: []plugin{}}
	}
	var maps []map[string]map[string]hclPluginConfig
	if err := hcl.DecodeObject(&maps, c.Plugins); err != nil {
		return result{Error: errString(err)}
	}
	out := []plugin{}
	for _, m := range maps {
		for name, pc := range m["NodeAttestor"] {
			p := plugin{Name: name, PluginCmd: pc.PluginCmd}
			if pc.PluginData != nil {
				var buf bytes.Buffer
				if err := printer.DefaultConfig.Fprint(&buf, pc.PluginData); err != nil {
					p.Error = errString(err)
				} else {
					p.HasData = true
					p.Data = buf.String()
					p.Value, p.Error, p.Panic = generic(p.Data)
				}
			}
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return result{Plugins: out}
}

func main() {
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		fmt.Fprintln(os.Stderr, "bad request:", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(reqs))
	for _, r := range reqs {
		raw, err := base64.StdEncoding.DecodeString(r.Input)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad base64:", err)
			os.Exit(2)
		}
		text := string(raw)
		var res result
		switch r.Mode {
		case "generic":
			res.Value, res.Error, res.Panic = generic(text)
		case "typed":
			res.Value, res.Error, res.Panic = typed(text)
		case "spire":
			res = spire(text)
		default:
			fmt.Fprintln(os.Stderr, "bad mode:", r.Mode)
			os.Exit(2)
		}
		results = append(results, res)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(2)
	}
}
