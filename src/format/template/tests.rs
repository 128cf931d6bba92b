//! The language end to end: templates parsed and rendered over JSON data.

use super::*;
use serde_json::json;

fn r(t: &str, data: &Value) -> String {
    Template::parse(t)
        .unwrap_or_else(|e| panic!("parse {t:?}: {e}"))
        .render(data)
        .unwrap_or_else(|e| panic!("render {t:?}: {e}"))
}

fn parse_err(t: &str) -> String {
    Template::parse(t).unwrap_err().to_string()
}

fn exec_err(t: &str, data: &Value) -> String {
    Template::parse(t).unwrap().render(data).unwrap_err().to_string()
}

#[test]
fn text_and_fields() {
    let d = json!({"Name": "web", "State": {"Status": "running", "Pid": 42}, "name": "lower"});
    assert_eq!(r("hello", &d), "hello");
    assert_eq!(r("", &d), "");
    assert_eq!(r("{{.Name}}", &d), "web");
    assert_eq!(r("{{.State.Status}}/{{.State.Pid}}", &d), "running/42");
    assert_eq!(r("{{ .Name }}", &d), "web");
    assert_eq!(r("{{.name}}", &d), "lower");
    // Case-sensitive like Go struct fields; missing keys are <no value>.
    assert_eq!(r("{{.NAME}}", &d), "<no value>");
    assert_eq!(r("{{.State.Nope}}", &d), "<no value>");
    assert_eq!(r("{{.Nope.Deeper}}", &d), "<no value>");
    assert_eq!(r("{{$.Name}}", &d), "web");
    assert_eq!(r("{{$}}", &json!("x")), "x");
    assert_eq!(r("{{.}}", &json!(3)), "3");
}

#[test]
fn null_values() {
    let d = json!({"Health": null, "List": [1, null]});
    assert_eq!(r("{{.Health}}", &d), "<nil>");
    assert_eq!(r("{{.Health.Status}}", &d), "<no value>");
    assert_eq!(r("{{.List}}", &d), "[1 <nil>]");
    assert_eq!(r("{{print .Health}}", &d), "<nil>");
    assert_eq!(r("{{print .Missing}}", &d), "<nil>");
    assert_eq!(r("{{if .Health}}y{{else}}n{{end}}", &d), "n");
}

#[test]
fn field_on_scalar_is_an_error() {
    let d = json!({"Name": "web"});
    assert_eq!(
        exec_err("{{.Name.First}}", &d),
        "template parsing error: template: :1:7: executing \"\" at <.Name.First>: can't evaluate field First in type string"
    );
}

#[test]
fn printing_go_values() {
    let d = json!({
        "s": "str", "i": 42, "neg": -7, "u": 18446744073709551615u64, "f": 1.5, "big": 1e21,
        "whole": 2.0, "million": 1000000.0, "small": 0.0001, "tiny": 0.00001,
        "t": true, "n": null, "a": ["a", "b", 3], "e": [], "o": {"b": 2, "a": [1, 2], "c": {"x": "y"}}, "eo": {}
    });
    assert_eq!(r("{{.s}} {{.i}} {{.neg}} {{.u}}", &d), "str 42 -7 18446744073709551615");
    assert_eq!(r("{{.f}} {{.big}} {{.whole}} {{.million}}", &d), "1.5 1e+21 2 1e+06");
    assert_eq!(r("{{.small}} {{.tiny}}", &d), "0.0001 1e-05");
    assert_eq!(r("{{.t}} {{.n}}", &d), "true <nil>");
    assert_eq!(r("{{.a}} {{.e}}", &d), "[a b 3] []");
    assert_eq!(r("{{.o}}", &d), "map[a:[1 2] b:2 c:map[x:y]]");
    assert_eq!(r("{{.eo}}", &d), "map[]");
    assert_eq!(
        r("{{123456789.0}} {{1e3}} {{0x1F}} {{017}} {{'a'}} {{-5}} {{1_000}}", &d),
        "1.23456789e+08 1000 31 15 97 -5 1000"
    );
}

#[test]
fn trim_markers_and_comments() {
    let d = json!({"A": "a", "B": "b"});
    assert_eq!(r("x  \n {{- .A -}} \n  y", &d), "xay");
    assert_eq!(r("{{.A}} {{- .B}}", &d), "ab");
    assert_eq!(r("{{.A -}}   {{.B}}", &d), "ab");
    assert_eq!(r("a {{/* a comment */}} b", &d), "a  b");
    assert_eq!(r("a {{- /* c */ -}} b", &d), "ab");
    // "{{-3}}" is the number -3, not a trim marker.
    assert_eq!(r("{{-3}}", &d), "-3");
    assert_eq!(r("{{3 -}} x", &d), "3x");
}

#[test]
fn if_else_chains() {
    let d = json!({"Running": true, "Paused": false, "Code": 0, "Name": "", "List": [], "Map": {}});
    assert_eq!(r("{{if .Running}}up{{end}}", &d), "up");
    assert_eq!(r("{{if .Paused}}p{{else}}np{{end}}", &d), "np");
    assert_eq!(r("{{if .Paused}}p{{else if .Running}}r{{else}}x{{end}}", &d), "r");
    assert_eq!(r("{{if .Paused}}p{{else if .Code}}c{{else}}x{{end}}", &d), "x");
    assert_eq!(r("{{if .Name}}a{{else}}b{{end}}{{if .List}}a{{else}}b{{end}}{{if .Map}}a{{else}}b{{end}}", &d), "bbb");
    assert_eq!(r("{{if .Missing}}a{{else}}b{{end}}", &d), "b");
    assert_eq!(r("{{if and .Running (not .Paused)}}ok{{end}}", &d), "ok");
    assert_eq!(r("{{if or .Paused .Code .Running}}ok{{end}}", &d), "ok");
    assert_eq!(r("{{if $x := .Running}}{{$x}}{{end}}", &d), "true");
}

#[test]
fn with_blocks() {
    let d = json!({"State": {"Status": "exited", "ExitCode": 1}, "Empty": ""});
    assert_eq!(r("{{with .State}}{{.Status}} ({{.ExitCode}}){{end}}", &d), "exited (1)");
    assert_eq!(r("{{with .Empty}}x{{else}}none{{end}}", &d), "none");
    assert_eq!(r("{{with .Empty}}x{{else with .State}}{{.Status}}{{end}}", &d), "exited");
    assert_eq!(r("{{with $s := .State}}{{$s.Status}}/{{.ExitCode}}{{end}}", &d), "exited/1");
}

#[test]
fn range_arrays_objects_and_else() {
    let d = json!({
        "Ports": ["80/tcp", "443/tcp"],
        "Labels": {"z": "last", "a": "first", "m": "mid"},
        "None": [],
        "Null": null,
        "Mounts": [{"Source": "/a", "Destination": "/x"}, {"Source": "/b", "Destination": "/y"}]
    });
    assert_eq!(r("{{range .Ports}}[{{.}}]{{end}}", &d), "[80/tcp][443/tcp]");
    assert_eq!(r("{{range $i, $p := .Ports}}{{$i}}={{$p}} {{end}}", &d), "0=80/tcp 1=443/tcp ");
    assert_eq!(r("{{range $p := .Ports}}{{$p}},{{end}}", &d), "80/tcp,443/tcp,");
    // Objects iterate in sorted key order, like Go maps.
    assert_eq!(r("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", &d), "a=first;m=mid;z=last;");
    assert_eq!(r("{{range .None}}x{{else}}empty{{end}}", &d), "empty");
    assert_eq!(r("{{range .Null}}x{{else}}empty{{end}}", &d), "empty");
    assert_eq!(r("{{range .Missing}}x{{else}}empty{{end}}", &d), "empty");
    assert_eq!(r("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", &d), "/a:/x /b:/y ");
    // $ stays the root inside range.
    assert_eq!(r("{{range .Ports}}{{len $.Ports}}{{end}}", &d), "22");
    assert_eq!(r("{{range $i, $e := .Ports}}{{if $i}}, {{end}}{{$e}}{{end}}", &d), "80/tcp, 443/tcp");
    assert_eq!(r("{{range 3}}{{.}}{{end}}", &d), "012");
    // Ranging over a huge integer is lazy, so break ends it at once.
    assert_eq!(r("{{range 9000000000000000000}}{{.}}{{break}}{{end}}", &d), "0");
}

#[test]
fn range_break_continue_and_scoping() {
    let d = json!({"N": [1, 2, 3, 4]});
    assert_eq!(r("{{range .N}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}", &d), "12");
    assert_eq!(r("{{range .N}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", &d), "134");
    // Assignment updates the outer variable.
    assert_eq!(r("{{$sum := 0}}{{range .N}}{{$sum = .}}{{end}}{{$sum}}", &d), "4");
    assert_eq!(r("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", &d), "21");
    assert!(exec_err("{{range .N}}{{end}}{{range 1.5}}{{end}}", &d).contains("range can't iterate over 1.5"));
}

#[test]
fn variables() {
    let d = json!({"A": "a", "B": {"C": "c"}});
    assert_eq!(r("{{$x := .A}}{{$x}}{{$x}}", &d), "aa");
    assert_eq!(r("{{$b := .B}}{{$b.C}}", &d), "c");
    assert_eq!(r("{{$x := .A}}{{$x = \"z\"}}{{$x}}", &d), "z");
    assert!(parse_err("{{$y}}").contains("undefined variable \"$y\""));
    // A variable declared in a block is gone after its end.
    assert!(parse_err("{{if true}}{{$v := 1}}{{end}}{{$v}}").contains("undefined variable \"$v\""));
}

#[test]
fn pipelines_and_parens() {
    let d = json!({"Name": "web", "Tags": ["a", "b"]});
    assert_eq!(r("{{.Name | upper}}", &d), "WEB");
    assert_eq!(r("{{.Name | printf \"%s-%s\" \"x\"}}", &d), "x-web");
    assert_eq!(r("{{(index .Tags 1) | upper}}", &d), "B");
    assert_eq!(r("{{len (index .Tags 0)}}", &d), "1");
    assert_eq!(r("{{(.Tags)}}", &d), "[a b]");
    assert_eq!(r("{{with $x := \"hi\" | upper}}{{$x}}{{end}}", &d), "HI");
}

#[test]
fn chain_on_parenthesised_pipeline() {
    let d = json!({"Nets": {"bridge": {"IPAddress": "172.17.0.2"}}});
    assert_eq!(r("{{(index .Nets \"bridge\").IPAddress}}", &d), "172.17.0.2");
    assert_eq!(r("{{range $k, $v := .Nets}}{{$k}} {{$v.IPAddress}}{{end}}", &d), "bridge 172.17.0.2");
}

#[test]
fn string_literals() {
    let d = json!({});
    assert_eq!(r(r#"{{"a\tb\n\"q\" \u00e9 \x41"}}"#, &d), "a\tb\n\"q\" é A");
    assert_eq!(r("{{`raw \\n {{x}}`}}", &d), "raw \\n {{x}}");
    assert_eq!(r("{{print true false}}", &d), "true false");
}

#[test]
fn index_function() {
    let d = json!({
        "Labels": {"com.example.a": "1", "maintainer": "me"},
        "Arr": [[1, 2], [3, 4]],
        "Mixed": {"x": 1},
        "NilLabels": null,
        "S": "abc"
    });
    assert_eq!(r(r#"{{index .Labels "com.example.a"}}"#, &d), "1");
    // Missing keys of string maps are "", like Go's map[string]string.
    assert_eq!(r(r#"[{{index .Labels "nope"}}]"#, &d), "[]");
    assert_eq!(r(r#"[{{index .NilLabels "nope"}}]"#, &d), "[]");
    assert_eq!(r(r#"[{{index .Mixed "nope"}}]"#, &d), "[<no value>]");
    assert_eq!(r("{{index .Arr 1 0}}", &d), "3");
    assert_eq!(r("{{index .Arr 0}}", &d), "[1 2]");
    assert_eq!(r("{{index .S 0}}", &d), "97");
    assert_eq!(r("{{index .Arr}}", &d), "[[1 2] [3 4]]");
    assert_eq!(
        exec_err("{{index .Arr 5}}", &d),
        "template parsing error: template: :1:2: executing \"\" at <index .Arr 5>: error calling index: index out of range: 5"
    );
}

#[test]
fn len_slice_and_comparisons() {
    let d = json!({"A": [1, 2, 3], "S": "hello", "M": {"a": 1}, "N": null, "I": 5});
    assert_eq!(r("{{len .A}} {{len .S}} {{len .M}} {{len .N}}", &d), "3 5 1 0");
    assert_eq!(r("{{slice .A 1}} {{slice .A 1 2}} {{slice .S 1 3}} {{slice .S}}", &d), "[2 3] [2] el hello");
    assert_eq!(r("{{eq .I 5}} {{eq .I 4 5}} {{ne .I 5}} {{eq .S \"hello\"}}", &d), "true true false true");
    assert_eq!(
        r("{{lt .I 6}} {{le .I 5}} {{gt .I 5}} {{ge .I 5}} {{lt \"a\" \"b\"}}", &d),
        "true true false true true"
    );
    assert_eq!(r("{{eq .N nil}} {{eq .Missing nil}}", &d), "true true");
    assert!(exec_err("{{eq .S 1}}", &d).ends_with("error calling eq: incompatible types for comparison"));
    assert!(exec_err("{{lt true false}}", &d).ends_with("error calling lt: invalid type for comparison"));
    assert!(exec_err("{{len .I}}", &d).ends_with("error calling len: len of type int"));
}

#[test]
fn and_or_return_values_and_short_circuit() {
    let d = json!({"E": "", "X": "x"});
    assert_eq!(r("{{or .E .X}}", &d), "x");
    assert_eq!(r("{{and .X .E}}", &d), "");
    assert_eq!(r("{{and .X 7}}", &d), "7");
    // The failing index is never evaluated.
    assert_eq!(r("{{or .X (index .E 99)}}", &d), "x");
    assert_eq!(r("{{not .E}}", &d), "true");
}

#[test]
fn print_functions() {
    let d = json!({"A": "a", "N": 1, "M": 2});
    assert_eq!(r("{{print .A .N .M .A}}", &d), "a1 2a");
    assert_eq!(r("{{println .A .N}}", &d), "a 1\n");
    assert_eq!(r("{{print}}", &d), "");
}

#[test]
fn printf_verbs() {
    let d = json!({"S": "web", "N": 42, "F": 2.34567, "B": true, "A": ["x", "y"], "Neg": -5});
    assert_eq!(r(r#"{{printf "%s|%d|%v|%t" .S .N .F .B}}"#, &d), "web|42|2.34567|true");
    assert_eq!(r(r#"{{printf "%-10s|%10s|" .S .S}}"#, &d), "web       |       web|");
    assert_eq!(
        r(r#"{{printf "%5d|%-5d|%05d|%+d|%x|%X|%#x|%o|%b" .N .N .N .N .N .N .N .N .N}}"#, &d),
        "   42|42   |00042|+42|2a|2A|0x2a|52|101010"
    );
    assert_eq!(r(r#"{{printf "%05d" .Neg}}"#, &d), "-0005");
    assert_eq!(r(r#"{{printf "%q %q" .S .A}}"#, &d), r#""web" ["x" "y"]"#);
    assert_eq!(r(r#"{{printf "%x %X" .S .S}}"#, &d), "776562 776562");
    assert_eq!(
        r(r#"{{printf "%.2f|%8.3f|%e|%g|%.3g" .F .F .F .F .F}}"#, &d),
        "2.35|   2.346|2.345670e+00|2.34567|2.35"
    );
    assert_eq!(r(r#"{{printf "%.2s|%c|%U" .S 65 65}}"#, &d), "we|A|U+0041");
    assert_eq!(r(r#"{{printf "%v %s" .A .A}}"#, &d), "[x y] [x y]");
    assert_eq!(r(r#"{{printf "100%%"}}"#, &d), "100%");
    assert_eq!(r(r#"{{printf "%*d|%-*d|" 4 .N 4 .N}}"#, &d), "  42|42  |");
    // Go's error notations.
    assert_eq!(r(r#"{{printf "%d" .S}}"#, &d), "%!d(string=web)");
    assert_eq!(r(r#"{{printf "%s" .N}}"#, &d), "%!s(int=42)");
    assert_eq!(r(r#"{{printf "%s %s" .S}}"#, &d), "web %!s(MISSING)");
    assert_eq!(r(r#"{{printf "%s" .S .N}}"#, &d), "web%!(EXTRA int=42)");
    assert_eq!(r(r#"{{printf "%s" .Missing}}"#, &d), "%!s(<nil>)");
    assert_eq!(r(r#"{{printf "%v" .Missing}}"#, &d), "<nil>");
    assert_eq!(r(r#"{{printf "%d" 1.5}}"#, &d), "%!d(float64=1.5)");
    assert_eq!(r(r#"{{printf "%99999999999d" .N}}"#, &d), "42");
}

#[test]
fn json_function() {
    let d = json!({"Ports": "0.0.0.0:80->80/tcp", "Cmd": ["sh", "-c", "a && b < c"], "Z": 1, "A": {"k": null, "f": 1.5, "big": 1e21, "tiny": 1e-7}});
    // Docker's `json` does not HTML-escape (docker/cli #32120).
    assert_eq!(r("{{json .Ports}}", &d), r#""0.0.0.0:80->80/tcp""#);
    assert_eq!(r("{{json .Cmd}}", &d), r#"["sh","-c","a && b < c"]"#);
    assert_eq!(r("{{json .A}}", &d), r#"{"k":null,"f":1.5,"big":1e+21,"tiny":1e-7}"#);
    // Struct-like objects keep their field order.
    assert_eq!(r("{{json .}}", &json!({"b": 1, "a": 2})), r#"{"b":1,"a":2}"#);
    assert_eq!(r("{{json .Missing}}", &d), "null");
    assert_eq!(r("{{json \"\\u2028\\x01\\b\"}}", &d), r#""\u2028\u0001\b""#);
}

#[test]
fn json_of_a_list_row_is_sorted_and_escaped() {
    let t = Template::parse("{{json .}}").unwrap();
    let row = json!({"Tag": "<none>", "ID": "abc", "Size": "1&2"});
    let (out, res) = t.execute(&row, Mode::Row);
    res.unwrap();
    assert_eq!(out, r#"{"ID":"abc","Size":"1\u00262","Tag":"\u003cnone\u003e"}"#);
    // Only the row itself marshals that way; its fields don't.
    let t = Template::parse("{{json .Tag}}").unwrap();
    assert_eq!(t.execute(&row, Mode::Row).0, r#""<none>""#);
}

#[test]
fn docker_string_functions() {
    let d = json!({"S": "text:with:colon", "L": ["a", "b", "c"], "T": "hello wORLD-x_y", "E": "", "Id": "tupx5xzf6hvsrhnruz5cr8gwp"});
    assert_eq!(r(r#"{{join (split .S ":") "/"}}"#, &d), "text/with/colon");
    assert_eq!(r(r#"{{split .S ":"}}"#, &d), "[text with colon]");
    assert_eq!(r(r#"{{join .L ", "}}"#, &d), "a, b, c");
    assert_eq!(r("{{title .T}}", &d), "Hello WORLD-X_y");
    assert_eq!(r("{{lower .T}}|{{upper .T}}", &d), "hello world-x_y|HELLO WORLD-X_Y");
    assert_eq!(
        r("{{truncate .Id 5}}|{{truncate .Id 25}}|{{truncate .Id 30}}", &d),
        "tupx5|tupx5xzf6hvsrhnruz5cr8gwp|tupx5xzf6hvsrhnruz5cr8gwp"
    );
    assert_eq!(r("{{pad .Id 3 3}}|", &d), "   tupx5xzf6hvsrhnruz5cr8gwp   |");
    assert_eq!(r("[{{pad .E 3 3}}]", &d), "[]");
    assert!(exec_err("{{upper .L}}", &d).ends_with("wrong type for value; expected string; got []interface {}"));
    assert!(exec_err("{{truncate .Nope 2}}", &d).ends_with("invalid value; expected string"));
}

#[test]
fn go_escaping_functions() {
    let d = json!({"S": "<a href='x'>&"});
    assert_eq!(r("{{html .S}}", &d), "&lt;a href=&#39;x&#39;&gt;&amp;");
    assert_eq!(r("{{js .S}}", &d), "\\u003Ca href\\u003D\\'x\\'\\u003E\\u0026");
    assert_eq!(r(r#"{{urlquery "a b&c"}}"#, &d), "a+b%26c");
}

#[test]
fn header_mode() {
    let t = Template::parse(
        "{{.ID}}\t{{.Repository | upper}}\t{{json .Labels}}\t{{.Foo}}\t{{truncate .Tag 1}}\t{{pad .ID 1 1}}",
    )
    .unwrap();
    let headers = [("ID", "IMAGE ID"), ("Repository", "REPOSITORY"), ("Tag", "TAG")];
    let ctx = header_context(&headers);
    let (out, res) = t.execute(&ctx, Mode::Header(&headers));
    res.unwrap();
    assert_eq!(out, "IMAGE ID\tREPOSITORY\tLABELS\tFOO\tTAG\t IMAGE ID ");
}

#[test]
fn parse_errors() {
    assert_eq!(parse_err("{{.Foo }x}}"), "template parsing error: template: :1: unexpected \"}\" in operand");
    assert_eq!(parse_err("{{.Foo}"), "template parsing error: template: :1: bad character U+007D '}'");
    assert_eq!(parse_err("{{.Foo"), "template parsing error: template: :1: unclosed action");
    assert_eq!(parse_err("{{nope .}}"), "template parsing error: template: :1: function \"nope\" not defined");
    assert_eq!(parse_err("{{if .A}}x"), "template parsing error: template: :1: unexpected EOF");
    assert_eq!(parse_err("x{{end}}"), "template parsing error: template: :1: unexpected {{end}}");
    assert_eq!(parse_err("{{else}}"), "template parsing error: template: :1: unexpected {{else}}");
    assert_eq!(parse_err("{{}}"), "template parsing error: template: :1: missing value for command");
    assert_eq!(parse_err("{{\"abc}}"), "template parsing error: template: :1: unterminated quoted string");
    assert_eq!(
        parse_err("a\n{{.A | \"x\"}}"),
        "template parsing error: template: :2: non executable command in pipeline stage 2"
    );
    assert_eq!(parse_err("{{break}}"), "template parsing error: template: :1: {{break}} outside {{range}}");
    assert_eq!(parse_err("{{(.A}}"), "template parsing error: template: :1: unclosed left paren");
    assert_eq!(parse_err("{{.A)}}"), "template parsing error: template: :1: unexpected right paren");
    assert_eq!(parse_err("{{template \"x\"}}"), "template parsing error: template: :1: {{template}} is not supported");
    assert_eq!(parse_err("{{/* x }}"), "template parsing error: template: :1: unclosed comment");
    assert_eq!(parse_err("{{3x}}"), "template parsing error: template: :1: bad number syntax: \"3x\"");
    assert_eq!(
        parse_err("{{if $a, $b := .}}{{end}}"),
        "template parsing error: template: :1: too many declarations in if"
    );
    assert_eq!(parse_err("{{\"x\".A}}"), "template parsing error: template: :1: unexpected . after term \"\\\"x\\\"\"");
}

#[test]
fn exec_errors_name_position_and_node() {
    let d = json!({"A": "x"});
    assert_eq!(
        exec_err("ab\ncd {{.A 1}}", &d),
        "template parsing error: template: :2:5: executing \"\" at <.A>: A is not a method but has arguments"
    );
    assert_eq!(
        exec_err("{{nil}}", &d),
        "template parsing error: template: :1:2: executing \"\" at <nil>: nil is not a command"
    );
    assert_eq!(
        exec_err("{{len}}", &d),
        "template parsing error: template: :1:2: executing \"\" at <len>: wrong number of args for len: want 1 got 0"
    );
    assert_eq!(
        exec_err("{{printf \"%s %s %s %s\" .A .A .A .A | len | upper}}", &d),
        "template parsing error: template: :1:43: executing \"\" at <upper>: wrong type for value; expected string; got int"
    );
}

#[test]
fn multi_line_actions_and_positions() {
    let d = json!({"A": "a", "B": {"C": 1}});
    assert_eq!(r("{{\n  .A\n}}", &d), "a");
    assert_eq!(r("{{if\n.A}}yes{{end}}", &d), "yes");
    assert_eq!(
        exec_err("line1\nline2 {{.B.C.D}}", &d),
        "template parsing error: template: :2:10: executing \"\" at <.B.C.D>: can't evaluate field D in type int"
    );
    let long = exec_err("{{printf \"%s\" .A | printf \"%s %s %s\" .A .A | len | not | upper}}", &d);
    assert!(long.contains("at <upper>"), "{long}");
}

#[test]
fn range_over_objects_and_nested_dots() {
    let d = json!({"Nets": {"web": {"IP": "10.0.0.2"}, "db": {"IP": "10.0.0.3"}}, "Name": "c1"});
    assert_eq!(r("{{range .Nets}}{{.IP}} {{end}}", &d), "10.0.0.3 10.0.0.2 ");
    assert_eq!(
        r("{{range $n, $c := .Nets}}{{$.Name}}@{{$n}}={{$c.IP}};{{end}}", &d),
        "c1@db=10.0.0.3;c1@web=10.0.0.2;"
    );
    assert_eq!(r("{{range $i, $e := .Nets}}{{$i}}{{else}}none{{end}}", &d), "dbweb");
}

#[test]
fn printf_table_columns() {
    let d = json!([{"N": "web", "S": "Up 2 hours"}, {"N": "database", "S": "Exited (0)"}]);
    assert_eq!(
        r(r#"{{range .}}{{printf "%-10s|%12s|" .N .S}}{{println}}{{end}}"#, &d),
        "web       |  Up 2 hours|\ndatabase  |  Exited (0)|\n"
    );
}

#[test]
fn strings_are_measured_in_bytes_like_go() {
    let d = json!({"S": "é日"});
    assert_eq!(r("{{len .S}}", &d), "5");
    assert_eq!(r("{{truncate .S 3}}", &d), "é");
    assert_eq!(r("{{upper .S}} {{title \"élan vital\"}}", &d), "É日 Élan Vital");
    assert_eq!(r(r#"{{printf "%-4s|" .S}}"#, &d), "é日  |");
}

#[test]
fn literals_in_function_arguments() {
    let d = json!({});
    assert_eq!(r("{{eq 1 1.0}} {{lt 1 1.5}} {{printf \"%v %v\" 1.0 2.5e-3}}", &d), "true true 1 0.0025");
    assert_eq!(r("{{truncate \"abcdef\" 2.0}}", &d), "ab");
    assert_eq!(r("{{index \"abc\" 1}}", &d), "98");
    assert_eq!(r("{{print nil}}", &d), "<nil>");
    assert_eq!(
        r("{{0x1p-2}} {{0x_1F}} {{printf \"%T %T %T %T\" 1 1.5 \"s\" nil}}", &d),
        "0.25 31 int float64 string <nil>"
    );
    assert!(parse_err("{{1__0}}").ends_with("illegal number syntax: \"1__0\""));
    assert!(
        exec_err("{{range $i, $j := 3}}{{end}}", &d).ends_with("can't use 3 to iterate over more than one variable")
    );
    // 1297651195387467.25 lies exactly between two 17-digit decimals: Go picks the even one.
    assert_eq!(r("{{.}}", &json!(5190604781549869.0 / 4.0)), "1.2976511953874672e+15");
    assert!(parse_err("{{99999999999999999999}}").ends_with("integer overflow: \"99999999999999999999\""));
    assert!(parse_err("{{18446744073709551615}}").ends_with("18446744073709551615 overflows int"));
}
