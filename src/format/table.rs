//! Docker's `--format` handling for list, inspect-like and info-like
//! commands (docker/cli `cli/command/formatter`), and its tabwriter.

use serde_json::Value;

use super::template::{header_context, Mode, Template, TemplateError};

/// Render the rows of a list command (`images`, `ps`, `history`, ...).
///
/// `format` is what the user passed to `--format` (or the command's default);
/// `headers` maps a field name to its column title (e.g. `"ID"` ->
/// `"IMAGE ID"`); `default_table` is the command's default table format,
/// e.g. `"table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"`.
///
/// Like docker/cli's formatter:
/// * `""` and `"table"` use `default_table`;
/// * `"json"` prints each row as compact JSON (`{{json .}}`: keys sorted,
///   `<>&` escaped, as Docker's formatter contexts marshal);
/// * a format starting with `table` prints a header row (the template
///   rendered with every field replaced by its title, unknown fields
///   upper-cased) and aligns the tab-separated columns with [`tabwrite`];
/// * any other format is rendered once per row, one line each, as is.
///
/// In every format the two-character sequences `\t` and `\n` (as typed in a
/// shell) stand for a tab and a newline, and surrounding spaces are trimmed.
pub fn render_list(
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> Result<String, TemplateError> {
    let format = match format {
        "" | "table" => default_table,
        f => f,
    };
    // Docker's Format.IsTable is a plain prefix test ("table{{.ID}}" too).
    let is_table = format.starts_with("table");
    let tmpl = Template::parse(&prepare_format(format))?;
    let mut body = String::new();
    for row in rows {
        let (out, res) = tmpl.execute(row, Mode::Row);
        res?;
        body.push_str(&out);
        body.push('\n');
    }
    if !is_table {
        return Ok(body);
    }
    // Docker ignores errors while rendering the header and prints what it got.
    let (mut text, _) = tmpl.execute(&header_context(headers), Mode::Header(headers));
    text.push('\n');
    text.push_str(&body);
    Ok(tabwrite(&text))
}

/// docker/cli Context.preFormat: strip "table", expand "json", trim spaces,
/// and turn a typed `\t` / `\n` into the real characters.
fn prepare_format(format: &str) -> String {
    let f = if let Some(rest) = format.strip_prefix("table") {
        rest
    } else if format == "json" {
        "{{json .}}"
    } else {
        format
    };
    f.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n")
}

/// Render one object (`inspect --format`, `version --format`,
/// `info --format`): the template once, plus a newline. The format `json`
/// means `{{json .}}`.
pub fn render_one(format: &str, value: &Value) -> Result<String, TemplateError> {
    let src = if format == "json" { "{{json .}}" } else { format };
    let mut out = Template::parse(src)?.render(value)?;
    out.push('\n');
    Ok(out)
}

/// Align tab-separated columns like Docker's
/// `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`: cells are padded to the
/// widest cell of their column plus 3 spaces, at least 10 columns; the last
/// cell of a line is not padded. Cell widths are terminal display widths
/// (wide East Asian characters count 2, combining marks 0), as in docker/cli's
/// tabwriter fork, which measures with go-runewidth.
pub fn tabwrite(text: &str) -> String {
    let mut w = TabWriter::new(10, 3);
    w.write(text);
    w.flush();
    w.out
}

#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    /// Bytes of text in the buffer.
    size: usize,
    /// Display width.
    width: usize,
    /// Terminated by a tab (as opposed to a line end).
    htab: bool,
}

/// Go's text/tabwriter (Elastic Tabstops) with padchar ' ' and no flags.
struct TabWriter {
    minwidth: usize,
    padding: usize,
    /// Text of all cells, without the tabs and newlines.
    buf: String,
    /// Position in `buf` up to which the current cell's width is known.
    pos: usize,
    cell: Cell,
    lines: Vec<Vec<Cell>>,
    widths: Vec<usize>,
    out: String,
}

impl TabWriter {
    fn new(minwidth: usize, padding: usize) -> Self {
        let mut w = TabWriter {
            minwidth,
            padding,
            buf: String::new(),
            pos: 0,
            cell: Cell::default(),
            lines: Vec::new(),
            widths: Vec::new(),
            out: String::new(),
        };
        w.reset();
        w
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.cell = Cell::default();
        self.lines.clear();
        self.widths.clear();
        self.lines.push(Vec::new());
    }

    fn append(&mut self, text: &str) {
        self.buf.push_str(text);
        self.cell.size += text.len();
    }

    fn update_width(&mut self) {
        self.cell.width += display_width(&self.buf[self.pos..]);
        self.pos = self.buf.len();
    }

    fn terminate_cell(&mut self, htab: bool) -> usize {
        self.cell.htab = htab;
        let line = self.lines.last_mut().expect("a current line");
        line.push(self.cell);
        self.cell = Cell::default();
        line.len()
    }

    fn write(&mut self, text: &str) {
        let mut n = 0;
        for (i, ch) in text.bytes().enumerate() {
            if !matches!(ch, b'\t' | b'\x0b' | b'\n' | b'\x0c') {
                continue;
            }
            self.append(&text[n..i]);
            self.update_width();
            n = i + 1;
            let ncells = self.terminate_cell(ch == b'\t');
            if ch == b'\n' || ch == b'\x0c' {
                self.lines.push(Vec::new());
                // A line with a single cell can't affect later columns, so
                // everything so far is formatted now: such a line ends the
                // column blocks above it (Go does the same).
                if ch == b'\x0c' || ncells == 1 {
                    self.flush();
                }
            }
        }
        self.append(&text[n..]);
    }

    fn flush(&mut self) {
        if self.cell.size > 0 {
            self.terminate_cell(false);
        }
        let n = self.lines.len();
        self.format(0, 0, n);
        self.reset();
    }

    /// Format lines `line0..line1`, whose text starts at `pos` in `buf`.
    fn format(&mut self, pos0: usize, line0: usize, line1: usize) -> usize {
        let mut pos = pos0;
        let column = self.widths.len();
        let mut line0 = line0;
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // This line has a cell in this column: a column block starts.
            pos = self.write_lines(pos, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].width + self.padding);
                this += 1;
            }
            // Format the columns to the right with this width pushed.
            self.widths.push(width);
            pos = self.format(pos, line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(pos, line0, line1)
    }

    fn write_lines(&mut self, pos0: usize, line0: usize, line1: usize) -> usize {
        let mut pos = pos0;
        for i in line0..line1 {
            for (j, c) in self.lines[i].iter().enumerate() {
                if c.size > 0 {
                    self.out.push_str(&self.buf[pos..pos + c.size]);
                    pos += c.size;
                }
                if j < self.widths.len() {
                    let fill = self.widths[j].saturating_sub(c.width);
                    self.out.extend(std::iter::repeat_n(' ', fill));
                }
            }
            if i + 1 == self.lines.len() {
                // The last buffered line has no newline (yet).
                self.out.push_str(&self.buf[pos..pos + self.cell.size]);
                pos += self.cell.size;
            } else {
                self.out.push('\n');
            }
        }
        pos
    }
}

/// Terminal columns of a string (go-runewidth's RuneWidth per character).
fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    // Control characters and zero-width (combining, joiners, selectors).
    const ZERO: &[(u32, u32)] = &[
        (0x0000, 0x001F),
        (0x007F, 0x009F),
        (0x00AD, 0x00AD),
        (0x0300, 0x036F),
        (0x0483, 0x0489),
        (0x0591, 0x05BD),
        (0x0610, 0x061A),
        (0x064B, 0x065F),
        (0x1AB0, 0x1AFF),
        (0x1DC0, 0x1DFF),
        (0x200B, 0x200F),
        (0x2028, 0x202E),
        (0x2060, 0x2064),
        (0x20D0, 0x20FF),
        (0xFE00, 0xFE0F),
        (0xFE20, 0xFE2F),
        (0xFEFF, 0xFEFF),
        (0xE0100, 0xE01EF),
    ];
    // East Asian Wide and Fullwidth, and emoji presentation.
    const WIDE: &[(u32, u32)] = &[
        (0x1100, 0x115F),
        (0x231A, 0x231B),
        (0x2329, 0x232A),
        (0x23E9, 0x23EC),
        (0x23F0, 0x23F0),
        (0x23F3, 0x23F3),
        (0x25FD, 0x25FE),
        (0x2614, 0x2615),
        (0x2648, 0x2653),
        (0x267F, 0x267F),
        (0x2693, 0x2693),
        (0x26A1, 0x26A1),
        (0x26AA, 0x26AB),
        (0x26BD, 0x26BE),
        (0x26C4, 0x26C5),
        (0x26CE, 0x26CE),
        (0x26D4, 0x26D4),
        (0x26EA, 0x26EA),
        (0x26F2, 0x26F3),
        (0x26F5, 0x26F5),
        (0x26FA, 0x26FA),
        (0x26FD, 0x26FD),
        (0x2705, 0x2705),
        (0x270A, 0x270B),
        (0x2728, 0x2728),
        (0x274C, 0x274C),
        (0x274E, 0x274E),
        (0x2753, 0x2755),
        (0x2757, 0x2757),
        (0x2795, 0x2797),
        (0x27B0, 0x27B0),
        (0x27BF, 0x27BF),
        (0x2B1B, 0x2B1C),
        (0x2B50, 0x2B50),
        (0x2B55, 0x2B55),
        (0x2E80, 0x303E),
        (0x3041, 0x33FF),
        (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF),
        (0xA000, 0xA4CF),
        (0xA960, 0xA97F),
        (0xAC00, 0xD7A3),
        (0xF900, 0xFAFF),
        (0xFE10, 0xFE19),
        (0xFE30, 0xFE6F),
        (0xFF00, 0xFF60),
        (0xFFE0, 0xFFE6),
        (0x16FE0, 0x16FE4),
        (0x17000, 0x18CFF),
        (0x1B000, 0x1B2FF),
        (0x1F004, 0x1F004),
        (0x1F0CF, 0x1F0CF),
        (0x1F18E, 0x1F18E),
        (0x1F191, 0x1F19A),
        (0x1F200, 0x1F251),
        (0x1F300, 0x1F64F),
        (0x1F680, 0x1F6FF),
        (0x1F7E0, 0x1F7EB),
        (0x1F90C, 0x1F9FF),
        (0x1FA70, 0x1FAFF),
        (0x20000, 0x2FFFD),
        (0x30000, 0x3FFFD),
    ];
    let within = |table: &[(u32, u32)]| {
        table
            .binary_search_by(|&(lo, hi)| {
                if hi < u {
                    std::cmp::Ordering::Less
                } else if lo > u {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    };
    if (0x20..0x7F).contains(&u) {
        1
    } else if within(ZERO) {
        0
    } else if within(WIDE) {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IMAGE_HEADERS: &[(&str, &str)] = &[
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("Digest", "DIGEST"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
    ];
    const IMAGE_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

    fn images() -> Vec<Value> {
        vec![
            json!({"Containers": "N/A", "CreatedAt": "2023-05-19 20:19:32 +0000 UTC", "CreatedSince": "2 months ago",
                   "Digest": "<none>", "ID": "3f57d9401f8d", "Repository": "ubuntu", "Tag": "22.04", "Size": "77.8MB"}),
            json!({"Containers": "N/A", "CreatedAt": "2023-08-07 19:20:20 +0000 UTC", "CreatedSince": "3 weeks ago",
                   "Digest": "<none>", "ID": "a6b8c2d1e4f7", "Repository": "registry.example.com/team/app", "Tag": "latest", "Size": "7.33MB"}),
        ]
    }

    #[test]
    fn default_table_has_header_and_aligned_columns() {
        let want = "\
REPOSITORY                      TAG       IMAGE ID       CREATED        SIZE
ubuntu                          22.04     3f57d9401f8d   2 months ago   77.8MB
registry.example.com/team/app   latest    a6b8c2d1e4f7   3 weeks ago    7.33MB
";
        assert_eq!(render_list("", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap(), want);
        assert_eq!(render_list("table", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap(), want);
    }

    #[test]
    fn custom_table_with_typed_backslash_t() {
        // `--format 'table {{.ID}}\t{{.Repository}}'` from a shell: the \t
        // arrives as a backslash and a t.
        let out = render_list(r"table {{.ID}}\t{{.Repository}}", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap();
        assert_eq!(
            out,
            "IMAGE ID       REPOSITORY\n3f57d9401f8d   ubuntu\na6b8c2d1e4f7   registry.example.com/team/app\n"
        );
    }

    #[test]
    fn header_for_unknown_fields_and_functions() {
        let rows = vec![json!({"ID": "abc", "Tag": "v1"})];
        let out = render_list("table {{.ID}}\t{{.Foo}}\t{{lower .Tag}}", "", IMAGE_HEADERS, &rows).unwrap();
        assert_eq!(out, "IMAGE ID   FOO          TAG\nabc        <no value>   v1\n");
        // `table` without a space is still a table (Docker's prefix test).
        let out = render_list("table{{.ID}}", "", IMAGE_HEADERS, &rows).unwrap();
        assert_eq!(out, "IMAGE ID\nabc\n");
    }

    #[test]
    fn minimum_column_width_is_ten() {
        let rows = vec![json!({"A": "x", "B": "y"})];
        let out = render_list("table {{.A}}\t{{.B}}", "", &[("A", "A"), ("B", "B")], &rows).unwrap();
        assert_eq!(out, "A         B\nx         y\n");
    }

    #[test]
    fn empty_list_still_prints_the_header() {
        let out = render_list("", IMAGE_TABLE, IMAGE_HEADERS, &[]).unwrap();
        assert_eq!(out, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
    }

    #[test]
    fn plain_format_is_one_line_per_row_without_tabwriter() {
        let out = render_list("{{.ID}}: {{.Repository}}", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap();
        assert_eq!(out, "3f57d9401f8d: ubuntu\na6b8c2d1e4f7: registry.example.com/team/app\n");
        // Tabs are kept as tabs when not in table mode.
        let out = render_list(r"{{.ID}}\t{{.Tag}}", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap();
        assert_eq!(out, "3f57d9401f8d\t22.04\na6b8c2d1e4f7\tlatest\n");
        // Surrounding spaces are trimmed, like Docker.
        let out = render_list("  {{.Tag}} ", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap();
        assert_eq!(out, "22.04\nlatest\n");
        assert_eq!(render_list("{{.ID}}", IMAGE_TABLE, IMAGE_HEADERS, &[]).unwrap(), "");
    }

    #[test]
    fn json_format_is_sorted_and_escaped_per_row() {
        let out = render_list("json", IMAGE_TABLE, IMAGE_HEADERS, &images()[..1]).unwrap();
        assert_eq!(
            out,
            "{\"Containers\":\"N/A\",\"CreatedAt\":\"2023-05-19 20:19:32 +0000 UTC\",\"CreatedSince\":\"2 months ago\",\
\"Digest\":\"\\u003cnone\\u003e\",\"ID\":\"3f57d9401f8d\",\"Repository\":\"ubuntu\",\"Size\":\"77.8MB\",\"Tag\":\"22.04\"}\n"
        );
        let same = render_list("{{json .}}", IMAGE_TABLE, IMAGE_HEADERS, &images()[..1]).unwrap();
        assert_eq!(same, out);
        // A field's json is not escaped (Docker's json template function).
        let out = render_list("{{json .Digest}}", IMAGE_TABLE, IMAGE_HEADERS, &images()[..1]).unwrap();
        assert_eq!(out, "\"<none>\"\n");
    }

    #[test]
    fn errors_are_reported() {
        let err = render_list("{{.ID", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap_err();
        assert_eq!(err.to_string(), "template parsing error: template: :1: unclosed action");
        let err = render_list("{{.ID.X}}", IMAGE_TABLE, IMAGE_HEADERS, &images()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "template parsing error: template: :1:5: executing \"\" at <.ID.X>: can't evaluate field X in type string"
        );
        // The header is rendered leniently; row errors still fail.
        let rows = vec![json!({"Labels": {"a": "1"}})];
        let out = render_list("table {{range $k, $v := .Labels}}{{$k}}{{end}}", "", &[], &rows).unwrap();
        assert_eq!(out, "\na\n");
    }

    #[test]
    fn render_one_appends_newline() {
        let v = json!({"Id": "sha256:abc", "Config": {"Labels": {"a": "<b>"}}, "Size": 123});
        assert_eq!(render_one("{{.Id}}", &v).unwrap(), "sha256:abc\n");
        assert_eq!(render_one("{{.Size}}", &v).unwrap(), "123\n");
        assert_eq!(render_one("{{json .Config}}", &v).unwrap(), "{\"Labels\":{\"a\":\"<b>\"}}\n");
        assert_eq!(
            render_one("json", &v).unwrap(),
            "{\"Id\":\"sha256:abc\",\"Config\":{\"Labels\":{\"a\":\"<b>\"}},\"Size\":123}\n"
        );
        assert_eq!(render_one("{{index .Config.Labels \"a\"}}", &v).unwrap(), "<b>\n");
        // No \t expansion for single-object formats (Docker's inspect doesn't).
        assert_eq!(render_one(r"{{.Id}}\t", &v).unwrap(), "sha256:abc\\t\n");
        assert!(render_one("{{.Id", &v).is_err());
    }

    #[test]
    fn tabwriter_alignment_rules() {
        assert_eq!(
            tabwrite("a\tb\tc\naaaa\tbbbbbbbbbbbbb\tc\n"),
            "a         b               c\naaaa      bbbbbbbbbbbbb   c\n"
        );
        // The last cell is never padded; a trailing tab pads the cell before it.
        assert_eq!(tabwrite("a\tb\t\nc\td\t\n"), "a         b         \nc         d         \n");
        // Text without a trailing newline is kept as is.
        assert_eq!(tabwrite("a\tb"), "a         b");
        assert_eq!(tabwrite(""), "");
        assert_eq!(tabwrite("no tabs\n"), "no tabs\n");
        // A line without tabs ends the column block: later lines realign.
        assert_eq!(
            tabwrite("x\ty\nlongerthanten\tz\nplain\nq\tw\n"),
            "x               y\nlongerthanten   z\nplain\nq         w\n"
        );
        // Lines with fewer cells only take part in the columns they have.
        assert_eq!(
            tabwrite("a\tb\tc\naaaaaaaaaaaa\tb\nx\tyyyyyyyyyyyy\tz\n"),
            "a              b         c\naaaaaaaaaaaa   b\nx              yyyyyyyyyyyy   z\n"
        );
        // Empty cells are padded too.
        assert_eq!(tabwrite("\tb\na\tb\n"), "          b\na         b\n");
    }

    #[test]
    fn tabwriter_uses_display_width() {
        // "é" as one char, CJK as two columns each.
        assert_eq!(tabwrite("é\tx\nab\tx\n"), "é         x\nab        x\n");
        assert_eq!(tabwrite("日本語の名前\tx\nab\tx\n"), "日本語の名前   x\nab             x\n");
        assert_eq!(char_width('e'), 1);
        assert_eq!(char_width('\u{301}'), 0);
        assert_eq!(char_width('中'), 2);
        assert_eq!(char_width('🐳'), 2);
    }

    #[test]
    fn info_style_key_value_alignment() {
        let text = "Client:\trcon\n Version:\t0.1.0\n API version:\t1.43\n";
        assert_eq!(tabwrite(text), "Client:         rcon\n Version:       0.1.0\n API version:   1.43\n");
    }
}
