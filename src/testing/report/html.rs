//! The report page as HTML, pure: one self-contained file (inline CSS and
//! SVG, no script, nothing fetched), every text put in escaped, every part
//! bounded so that the page stays under [`MAX_PAGE_BYTES`].

use std::fmt::Write as _;

use crate::testing::report::{svg, NetView};

/// The page's size bound: every part is cut to its own share of it (a
/// byte of text takes up to 6 escaped, `&quot;`).
pub(crate) const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Bytes of the message, of each namespace's state, and of the log tails
/// shown, at most; and of each text of a ladder's row.
const MAX_MESSAGE: usize = 8 * 1024;
const MAX_STATE: usize = 6 * 1024;
const MAX_STATES: usize = 12;
const MAX_LOGS: usize = 16 * 1024;
const MAX_NOTES: usize = 2 * 1024;
pub(crate) const MAX_FIELD: usize = 80;
/// Networks drawn, at most (each bounded in `svg.rs`).
const MAX_NETWORKS: usize = 4;
/// Rows of the packet ladder, at most.
pub(crate) const MAX_ROWS: usize = 300;

/// A frame of the capture, as one row of the ladder.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Row {
    /// Milliseconds since the capture's first frame shown.
    pub(crate) ms: f64,
    /// Where it was seen: `host/link`.
    pub(crate) at: String,
    /// Column of the sending and receiving host (`Ladder::hosts`), if known.
    pub(crate) from: Option<usize>,
    pub(crate) to: Option<usize>,
    /// `TCP 40000 > 8080 [SYN]`, `UDP 5353 > 53`, `ARP`, ...
    pub(crate) summary: String,
    /// Bytes of the frame.
    pub(crate) len: usize,
    /// What the wire did to it (the capture's packet comment), if anything.
    pub(crate) note: Option<String>,
}

/// The packet ladder: host columns and rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ladder {
    pub(crate) hosts: Vec<String>,
    pub(crate) rows: Vec<Row>,
    /// Frames of the capture not shown (past [`MAX_ROWS`]).
    pub(crate) left_out: usize,
    /// Why the capture could not be read, if it could not.
    pub(crate) error: Option<String>,
}

/// What the page shows.
pub(crate) struct Page<'a> {
    pub(crate) test: &'a str,
    pub(crate) failed: bool,
    pub(crate) message: &'a str,
    pub(crate) networks: &'a [NetView],
    pub(crate) states: &'a [(String, String)],
    pub(crate) logs: &'a str,
    pub(crate) notes: &'a [String],
    /// The capture file's link (relative to the page, or a `file://` URL).
    pub(crate) capture: Option<&'a str>,
    pub(crate) ladder: &'a Ladder,
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
pre{background:#f4f4f4;padding:.6em;overflow-x:auto;white-space:pre-wrap}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\
.failed{color:#b00}.passed{color:#070}.note{color:#b00;font-weight:bold}\
svg text{font-family:monospace}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:2px 6px;font-family:monospace;font-size:12px}";

/// The page's HTML.
pub(crate) fn render(page: &Page<'_>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let verdict = if page.failed { "failed" } else { "passed" };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{} {verdict}</title><style>{STYLE}</style></head><body>\n\
         <h1>netns-test: <code>{}</code> <span class=\"{verdict}\">{verdict}</span></h1>\n",
        escape(page.test),
        escape(page.test)
    );
    section(&mut out, "message", "Message", page.message, MAX_MESSAGE);
    out.push_str("<h2 id=\"topology\">Topology at the failure</h2>\n");
    if page.networks.is_empty() {
        out.push_str("<p>No network built by the test was alive at the failure.</p>\n");
    }
    for (i, net) in page.networks.iter().take(MAX_NETWORKS).enumerate() {
        let _ = writeln!(out, "<div class=\"network\" id=\"network-{i}\">");
        out.push_str(&svg::network(net));
        out.push_str("</div>\n");
    }
    if page.networks.len() > MAX_NETWORKS {
        let _ = writeln!(
            out,
            "<p>{} more networks not drawn.</p>",
            page.networks.len() - MAX_NETWORKS
        );
    }
    out.push_str("<h2 id=\"state\">State of each namespace</h2>\n");
    for (label, state) in page.states.iter().take(MAX_STATES) {
        let _ = writeln!(out, "<h3>{}</h3>", escape(label));
        pre(&mut out, state, MAX_STATE);
    }
    if page.states.is_empty() {
        out.push_str("<p>No state was read (NETNS_TEST_DUMP, or no namespace).</p>\n");
    }
    section(&mut out, "logs", "Log tails", page.logs, MAX_LOGS);
    section(
        &mut out,
        "seed",
        "Seed, replay and capture",
        &page.notes.join("\n"),
        MAX_NOTES,
    );
    out.push_str("<h2 id=\"capture\">Capture</h2>\n");
    match page.capture {
        Some(link) => {
            let _ = writeln!(
                out,
                "<p><a href=\"{}\">{}</a> (pcapng: Wireshark shows the wire's notes as \
                 packet comments)</p>",
                escape(link),
                escape(link)
            );
            ladder(&mut out, page.ladder);
        }
        None => out.push_str("<p>No capture (NETNS_TEST_CAPTURE=failed takes one).</p>\n"),
    }
    out.push_str("</body></html>\n");
    // The parts' own bounds keep the page under it; this is the backstop.
    if out.len() > MAX_PAGE_BYTES {
        let kept = cut(&out, MAX_PAGE_BYTES - 128).0.len();
        out.truncate(kept);
        out.push_str("\n<p>(page cut at its size bound)</p></body></html>\n");
    }
    out
}

/// A section with a heading and `text` as preformatted text.
fn section(out: &mut String, id: &str, title: &str, text: &str, max: usize) {
    let _ = writeln!(out, "<h2 id=\"{id}\">{title}</h2>");
    if text.trim().is_empty() {
        out.push_str("<p>(none)</p>\n");
    } else {
        pre(out, text, max);
    }
}

/// `text` escaped in a `<pre>`, its first `max` bytes, then how many more.
fn pre(out: &mut String, text: &str, max: usize) {
    let (shown, rest) = cut(text, max);
    let _ = write!(out, "<pre>{}", escape(shown));
    if rest > 0 {
        let _ = write!(out, "\n... {rest} more bytes");
    }
    out.push_str("</pre>\n");
}

/// The first `max` bytes of `text` (at a character boundary), and how
/// many bytes were left out.
pub(crate) fn cut(text: &str, max: usize) -> (&str, usize) {
    if text.len() <= max {
        return (text, 0);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], text.len() - end)
}

/// The ladder: an SVG sequence diagram (a column per host, an arrow per
/// frame) and the same rows as a table.
fn ladder(out: &mut String, ladder: &Ladder) {
    if let Some(e) = &ladder.error {
        let _ = writeln!(out, "<p>The capture could not be read: {}</p>", escape(e));
        return;
    }
    out.push_str(&svg::ladder(ladder));
    out.push_str(
        "<table id=\"frames\"><tr><th>ms</th><th>seen at</th><th>from</th><th>to</th>\
         <th>frame</th><th>bytes</th><th>wire</th></tr>\n",
    );
    let host = |i: Option<usize>| {
        i.and_then(|i| ladder.hosts.get(i))
            .map_or("elsewhere", String::as_str)
    };
    for row in ladder.rows.iter().take(MAX_ROWS) {
        let class = if row.note.is_some() {
            " class=\"note\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr{class}><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            row.ms,
            escape(cut(&row.at, MAX_FIELD).0),
            escape(cut(host(row.from), MAX_FIELD).0),
            escape(cut(host(row.to), MAX_FIELD).0),
            escape(cut(&row.summary, MAX_FIELD).0),
            row.len,
            escape(cut(row.note.as_deref().unwrap_or(""), MAX_FIELD).0)
        );
    }
    out.push_str("</table>\n");
    let left = ladder.left_out + ladder.rows.len().saturating_sub(MAX_ROWS);
    if left > 0 {
        let _ = writeln!(out, "<p>{left} more frames in the capture file.</p>");
    }
}

/// `s` with `&`, `<`, `>`, `"` and `'` as character references: safe in
/// text, in attributes, and in SVG.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not
            // allowed in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page<'a>(message: &'a str, logs: &'a str, ladder: &'a Ladder) -> Page<'a> {
        Page {
            test: "t::x",
            failed: true,
            message,
            networks: &[],
            states: &[],
            logs,
            notes: &[],
            capture: Some("capture.pcapng"),
            ladder,
        }
    }

    #[test]
    fn every_text_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"\u{7}"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{fffd}"
        );
        let ladder = Ladder::default();
        let html = render(&page("<script>alert(1)</script>", "", &ladder));
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn the_page_fetches_nothing_and_runs_nothing() {
        let ladder = Ladder::default();
        let html = render(&page("boom", "log", &ladder));
        for banned in ["<script", "<link", "@import", "src=", "url("] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</body></html>\n"));
    }

    #[test]
    fn a_huge_failure_stays_under_the_bound() {
        let row = Row {
            ms: 1.5,
            at: "h".repeat(200),
            from: Some(0),
            to: Some(1),
            summary: "x".repeat(300),
            len: 1500,
            note: Some("dropped by loss".repeat(10)),
        };
        let ladder = Ladder {
            hosts: vec!["a".repeat(100), "b".repeat(100)],
            rows: vec![row; 5000],
            left_out: 7,
            error: None,
        };
        let big = "<".repeat(4 * MAX_PAGE_BYTES);
        let states: Vec<(String, String)> =
            (0..100).map(|i| (i.to_string(), big.clone())).collect();
        let notes = vec![big.clone(); 10];
        let mut p = page(&big, &big, &ladder);
        p.states = &states;
        p.notes = &notes;
        let html = render(&p);
        assert!(html.len() < MAX_PAGE_BYTES, "{} bytes", html.len());
        assert!(html.contains("more bytes"));
        assert!(html.contains(&format!("{} more frames", 5000 - MAX_ROWS + 7)));
    }

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(cut("héllo", 2), ("h", 5));
        assert_eq!(cut("abc", 3), ("abc", 0));
    }
}
