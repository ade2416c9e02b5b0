import json
T = {"Hostname": "host1", "env": "Prod Env", "aws:autoscaling:groupName": "my-asg", "empty": "", "num": "42", "path": "a/b/c.txt", "mixed": "Hello_World-Foo bar", "ü": "naïve"}
cases = [
 # SPIRE's own test templates
 "/{{ .PluginName}}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}",
 "/{{ .PluginName }}/custom/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}",
 "/{{ .PluginName }}/zone1/{{ .Tags.Hostname }}",
 "/{{ .Tags.a }}/{{ .Tags.b }}",
 "/{{ .PluginName }}/zone1/{{ .Tags.Missing }}",
 "/{{ .InstanceID ",
 # fields, trust domain, printing
 "/{{ .TrustDomain }}x", "/{{ . }}", "/{{ .Tags }}", "{{ $ }}", "/{{ .Hostname }}", "/{{ .Region.Foo }}",
 "/{{ .Tags.Hostname.Foo }}", "/{{ .InstanceID 1 }}", "/{{ .Tags.Hostname 1 }}", "/{{ 1 2 }}", "/{{ nil }}",
 # index / len / missingkey
 '/{{ index .Tags "Missing" }}', '/{{ index .Tags "Missing" | default "none" }}', '/{{ index .Tags "aws:autoscaling:groupName" }}',
 '/{{ index .Tags 1 }}', '/{{ index .InstanceID 0 }}', '/{{ index .InstanceID 99 }}', '/{{ len .Tags }}', '/{{ len .InstanceID }}', '/{{ len 3 }}',
 # trimming, comments, text
 "/a {{- .Region -}} b", "/a  {{- /* c */ -}}  b", "{{/* only */}}/x", "/{{-3}}", "/{{ -3 }}", "/{{- 3 -}}/", "/{{ 3 -}} \n x",
 "/x\n{{ .Region }}", "/a{{ .Region\n}}b",
 # literals
 '/{{ "a\\tb" }}', "/{{ `raw\\n` }}", "/{{ 'a' }}", "/{{ 1.5 }}", "/{{ 1e6 }}", "/{{ 1.0 }}", "/{{ 0x1F }}", "/{{ 0o17 }}", "/{{ 017 }}", "/{{ 1_000 }}", "/{{ 123456789.0 }}", "/{{ 0.000012 }}", "/{{ true }}", '/{{ "\\u00e9" }}', "/{{ 1__0 }}", "/{{ 3x }}",
 # if / else / with / variables
 '/{{ if eq .Region "us-west-2" }}west{{ else if eq .Region "x" }}x{{ else }}other{{ end }}',
 '/{{ if .Tags.empty }}yes{{ else }}no{{ end }}',
 '/{{ with .Tags.Hostname }}{{ . }}-{{ $.AccountID }}{{ end }}',
 '/{{ with index .Tags "nope" }}{{ . }}{{ else }}fallback{{ end }}',
 '/{{ $x := .InstanceID }}{{ $x }}', '/{{ $x := 1 }}{{ $x = 2 }}{{ $x }}', '/{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}',
 '/{{ $x := .Tags }}{{ $x.Hostname }}', '/{{ $.Tags.Hostname }}', '/{{ $nope }}',
 '/{{ if }}x{{ end }}', '/{{ end }}', '/{{ else }}', '/{{ if true }}x', '/{{ if true }}a{{ else }}b{{ else }}c{{ end }}',
 '/{{ range .Tags }}x{{ end }}', '/{{ define "x" }}y{{ end }}',
 # and / or / not / comparisons
 '/{{ and 1 0 2 }}', '/{{ or 0 "" "x" }}', '/{{ or 0 "" }}', '/{{ and 1 (fail "boom") }}', '/{{ or 1 (fail "boom") }}', '/{{ not "" }}',
 '/{{ eq .Region "a" "us-west-2" }}', '/{{ eq 1 "a" }}', '/{{ eq 1 1.0 }}', '/{{ ne 1 2 }}', '/{{ lt "a" "b" }}', '/{{ lt 1 2.5 }}', '/{{ gt 3 2 }}', '/{{ le 2 2 }}', '/{{ ge 1 2 }}', '/{{ eq nil nil }}', '/{{ eq .Tags .Tags }}', '/{{ lt true false }}', '/{{ eq }}',
 # print / printf
 '/{{ print 1 2 "a" 3 }}', '/{{ print "a" "b" }}', '/{{ printf "%s-%d" .Region 7 }}', '/{{ printf "%05d|%-4s|%4s" 42 "ab" "cd" }}', '/{{ printf "%q" .Region }}', '/{{ printf "%x %X" 255 "hi" }}', '/{{ printf "%d" "x" }}', '/{{ printf "%s" }}', '/{{ printf "a" 1 }}', '/{{ printf "%v %t" .Tags true }}', '/{{ println "a" 1 }}',
 # pipelines
 '/{{ .Tags.env | lower | replace " " "-" }}', '/{{ "abc" | upper | printf "%s!" }}', '/{{ .Region | 3 }}', '/{{ (.Region) }}', '/{{ (.Tags).Hostname }}', '/{{ (list 1 2).x }}',
 # strings
 '/{{ trunc 5 .InstanceID }}', '/{{ trunc -5 .InstanceID }}', '/{{ trunc 99 "ab" }}', '/{{ trunc "5" .InstanceID }}', '/{{ trunc 2.5 .InstanceID }}', '/{{ trunc 2.0 .InstanceID }}',
 '/{{ substr 0 3 .Region }}', '/{{ substr 2 99 .Region }}', '/{{ substr -1 3 .Region }}', '/{{ substr 5 2 .Region }}', '/{{ substr 99 100 .Region }}',
 '/{{ trim "  a b  " }}', '/{{ upper .Region }}', '/{{ title .Tags.mixed }}', '/{{ untitle "ABC" }}', '/{{ repeat 3 "ab" }}', '/{{ repeat -1 "ab" }}',
 '/{{ trimAll "-x" "x-a-x" }}', '/{{ trimSuffix ".txt" .Tags.path }}', '/{{ trimPrefix "a/" .Tags.path }}', '/{{ nospace .Tags.mixed }}',
 '/{{ contains "west" .Region }}', '/{{ hasPrefix "us" .Region }}', '/{{ hasSuffix "2" .Region }}',
 '/{{ quote .Region "x" nil 1 }}', '/{{ squote .Region 1 }}', '/{{ cat "a" nil 1 .Region }}', '/{{ indent 2 "a\\nb" }}', '/{{ nindent 1 "a" }}',
 '/{{ replace "-" "_" .Region }}', '/{{ replace "" "." "abc" }}', '/{{ plural "one" "many" 1 }}', '/{{ plural "one" "many" 2 }}',
 '/{{ sha1sum .InstanceID }}', '/{{ sha256sum .InstanceID | trunc 16 }}', '/{{ adler32sum .InstanceID }}', '/{{ toString 1.5 }}', '/{{ toString .Tags }}',
 '/{{ seq 3 }}', '/{{ seq 5 2 }}', '/{{ seq 1 2 9 }}', '/{{ seq 9 -3 1 }}', '/{{ seq 0 }}', '/{{ seq }}',
 '/{{ splitList "-" .InstanceID | last }}', '/{{ splitList "" "abc" }}', '/{{ splitList "/" .Tags.path | join "_" }}', '/{{ toStrings (list 1 "a" nil) }}', '/{{ join "," (list 1 2) }}', '/{{ join "," "x" }}', '/{{ sortAlpha (list "b" "a" "C") }}', '/{{ sortAlpha "x" }}',
 # defaults
 '/{{ default "d" "" }}', '/{{ default "d" "v" }}', '/{{ default "d" 0 }}', '/{{ default "d" }}', '/{{ "" | default "d" }}', '/{{ empty (list) }}', '/{{ empty .Tags }}', '/{{ empty 0.0 }}', '/{{ coalesce "" 0 "x" }}', '/{{ coalesce "" }}', '/{{ all 1 "" }}', '/{{ any 0 "x" }}', '/{{ ternary "a" "b" true }}', '/{{ ternary "a" "b" 1 }}', '/{{ true | ternary "a" "b" }}',
 '/{{ compact (list 1 0 "" "x") }}', '/{{ compact "x" }}', '/{{ mustCompact "x" }}',
 # paths & encodings
 '/{{ base .Tags.path }}', '/{{ dir .Tags.path }}', '/{{ clean "a//b/../c/." }}', '/{{ clean "/../x" }}', '/{{ clean "" }}', '/{{ ext .Tags.path }}', '/{{ isAbs "/x" }}', '/{{ base "" }}', '/{{ base "///" }}', '/{{ dir "x" }}',
 '/{{ b64enc "hi" }}', '/{{ b64dec "aGk=" }}', '/{{ b64dec "a" }}', '/{{ b64dec "!!!!" }}', '/{{ b32enc "hi" }}', '/{{ b32dec "NBUQ====" }}', '/{{ b32dec "x" }}',
 # lists / dicts
 '/{{ list 1 "a" nil 2.5 }}', '/{{ tuple }}', '/{{ dict "a" 1 "b" }}', '/{{ get (dict "a" "x") "a" }}', '/{{ get (dict) "a" }}', '/{{ $d := dict }}{{ $_ := set $d "k" "v" }}{{ $d.k }}', '/{{ $d := dict "a" 1 }}{{ $_ := unset $d "a" }}{{ len $d }}',
 '/{{ hasKey (dict "a" 1) "a" }}', '/{{ hasKey .Tags "Hostname" }}', '/{{ get .Tags "Hostname" }}', '/{{ keys (dict "b" 1) }}', '/{{ keys .Tags }}', '/{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}', '/{{ pick (dict "a" 1 "b" 2) "a" }}', '/{{ omit (dict "a" 1 "b" 2) "a" }}', '/{{ values (dict "a" 1) }}',
 '/{{ append (list 1) 2 }}', '/{{ append "x" 2 }}', '/{{ prepend (list 1) 0 }}', '/{{ first (list) }}', '/{{ first (list 1 2) }}', '/{{ last (list 1 2) }}', '/{{ rest (list 1 2 3) }}', '/{{ rest (list) }}', '/{{ initial (list 1 2 3) }}', '/{{ reverse (list 1 2 3) }}', '/{{ uniq (list 1 1 "a" "a") }}', '/{{ without (list 1 2 3) 2 }}', '/{{ has 2 (list 1 2) }}', '/{{ has 2 nil }}', '/{{ has 2 "x" }}',
 '/{{ slice (list 1 2 3) 1 }}', '/{{ slice (list 1 2 3) 1 2 }}', '/{{ slice (list) }}', '/{{ slice (list 1 2) 1 5 }}', '/{{ slice "abc" 1 }}', '/{{ concat (list 1) (list 2 3) }}', '/{{ concat }}', '/{{ chunk 2 (list 1 2 3) }}', '/{{ chunk 2 (list) }}',
 '/{{ dig "a" "b" "def" (dict "a" (dict "b" "x")) }}', '/{{ dig "a" "z" "def" (dict "a" (dict "b" "x")) }}', '/{{ dig "a" "def" }}',
 '/{{ fail "not allowed" }}', '/{{ mustFirst "x" }}', '/{{ first "x" }}',
 # regex
 '/{{ regexMatch "^us-" .Region }}', '/{{ regexMatch "(" .Region }}', '/{{ mustRegexMatch "(" .Region }}', '/{{ regexFind "[0-9]+" .InstanceID }}', '/{{ regexFindAll "[0-9]" .InstanceID 3 }}', '/{{ regexFindAll "a*" "baaab" -1 }}', '/{{ regexFindAll "x" "abc" -1 }}',
 '/{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', '/{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}', '/{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "$1" }}', '/{{ regexReplaceAll "a*" "baaab" "-" }}', '/{{ regexReplaceAll "[^a-z0-9]+" (lower .Tags.mixed) "-" }}', '/{{ regexReplaceAll "(?P<first>\\\\w+)-(?P<second>\\\\w+)" "ab-cd" "$second.$first" }}',
 '/{{ regexSplit "-" .Region -1 }}', '/{{ regexSplit "-" .Region 2 }}', '/{{ regexSplit "-" .Region 0 }}', '/{{ regexSplit "x*" "abc" -1 }}', '/{{ regexSplit "-" "" -1 }}', '/{{ regexQuoteMeta "a.b*c" }}', '/{{ regexFind "(?i)WEST" .Region }}', '/{{ regexFind "\\\\d+\\\\s" "ab 12 c" }}', '/{{ regexFind "[[:alpha:]]+" "12ab3" }}', '/{{ regexFind "a{2,3}" "aaaa" }}', '/{{ regexFind "a**" "aaaa" }}', '/{{ regexFind "\\\\1" "aa" }}', '/{{ regexFind "(?=a)" "aa" }}', '/{{ regexFind "^$" "" }}', '/{{ regexFind "[]a]+" "]a]b" }}',
 # RE2 syntax and results that JavaScript's RegExp would not give (the engine runs on re2js)
 '/{{ regexFind "\\\\p{Greek}+" "abc-αβγ-def" }}', '/{{ regexFind "\\\\pN+" "ab١٢cd" }}', '/{{ regexFind "[[:^alpha:]]+" "ab12cd" }}', '/{{ regexFind "a(?i)B" "xaBy" }}',
 '/{{ regexFind "(?U)a+" "aaa" }}', '/{{ regexFind "(?s)a.b" "a\\nb" }}', '/{{ regexFind "(?m)^b" "a\\nb" }}', '/{{ regexReplaceAll "\\\\101" "xAx" "-" }}', '/{{ regexFind "\\\\C" "a" }}',
 '/{{ regexFindAll "." "a😀b" -1 }}', '/{{ regexReplaceAll "" "😀" "-" }}', '/{{ regexReplaceAll "(a)" "a" "[$01]" }}', '/{{ regexReplaceAll "(a)" "a" "[${1}x$1x]" }}',
 '/{{ regexMatch "^(0+)+$" (printf "%s!" (printf "%030d" 0)) }}', '/{{ regexFind "\\\\bwest\\\\b" .Region }}', '/{{ regexSplit "" "abc" -1 }}',
 # comparison errors name both types (Go 1.21+)
 '/{{ eq .Tags "a" }}', '/{{ lt "a" 1 }}',
 # type errors
 '/{{ upper 1 }}', '/{{ upper .Tags }}', '/{{ upper }}', '/{{ upper "a" "b" }}', '/{{ repeat .Tags.num "x" }}', '/{{ 1 | upper }}', '/{{ upper nil }}', '/{{ contains "a" }}',
 # syntax errors
 '/{{ "unterminated }}', '/{{ .Region | }}', '/{{ | .Region }}', '/{{ .Region ) }}', '/{{ (.Region }}', '/{{ $x = 1 }}', '/{{ .Region := 1 }}', '/{{ 1.Region }}', '/{{ "a".b }}', '/{{ % }}', '/{{ .Region,1 }}', '/{{ env "HOME" }}', '/{{/* x */ .Region }}', '/{{ /* x */ }}', '/{{- /* x */ -}}/',
]
with open("cases.jsonl","w") as f:
    for c in cases:
        f.write(json.dumps({"template": c, "tags": T})+"\n")
