//! `nearstore sql`: the query language against a database directory (embedded) or a server
//! (`--url`), as a one-shot statement or an interactive shell with history and multi-line
//! statements (ended by `;`). Rows print as a table, or as JSON with `--json`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use crate::remote::{Endpoint, EndpointArgs};

/// Options of `nearstore sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// A statement to run (without one: an interactive shell).
    pub statement: Option<String>,
    /// The database directory or server.
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// `$name` bindings as a JSON object, e.g. '{"v": [0.1, 0.2]}'.
    #[arg(long, default_value = "{}")]
    pub params: String,
    /// Print `{"rows": [...]}` JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A cell's text: strings bare, everything else as compact JSON.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders an EXPLAIN plan tree, one node a line, children indented under their parent:
/// `Node [strategy] (est. rows R, cost C; actual rows A, T ms)`.
pub fn plan_tree(plan: &Value) -> String {
    fn node(n: &Value, prefix: &str, last: bool, root: bool, out: &mut String) {
        let branch = match (root, last) {
            (true, _) => "",
            (false, true) => "└─ ",
            (false, false) => "├─ ",
        };
        let mut figures = format!(
            "est. rows {}, cost {}",
            n["estimated_rows"], n["estimated_cost"]
        );
        if let Some(rows) = n.get("actual_rows") {
            figures.push_str(&format!("; actual rows {rows}, {} ms", n["actual_time_ms"]));
        }
        out.push_str(&format!(
            "{prefix}{branch}{} [{}] ({figures})\n",
            cell(&n["node"]),
            cell(&n["strategy"])
        ));
        if let Some(measured) = n.get("actual").and_then(Value::as_str) {
            let pad = if root {
                ""
            } else if last {
                "   "
            } else {
                "│  "
            };
            out.push_str(&format!("{prefix}{pad}   measured: {measured}\n"));
        }
        let children = n["children"].as_array().cloned().unwrap_or_default();
        let inner = match (root, last) {
            (true, _) => prefix.to_string(),
            (false, true) => format!("{prefix}   "),
            (false, false) => format!("{prefix}│  "),
        };
        for (i, c) in children.iter().enumerate() {
            node(c, &inner, i + 1 == children.len(), false, out);
        }
    }
    let mut out = String::new();
    node(plan, "", true, true, &mut out);
    out
}

/// The plan of an EXPLAIN result: its one row's only column, `plan`, a node object.
fn explain_plan(rows: &[Value]) -> Option<&Value> {
    match rows {
        [Value::Object(row)] if row.len() == 1 => {
            row.get("plan").filter(|p| p.get("node").is_some())
        }
        _ => None,
    }
}

/// Renders `{"rows": [...]}` as a table (columns in first-seen order), or an EXPLAIN result
/// as its plan tree.
pub fn table(result: &Value) -> String {
    let rows = result["rows"].as_array().cloned().unwrap_or_default();
    if rows.is_empty() {
        return "(0 rows)\n".to_string();
    }
    if let Some(plan) = explain_plan(&rows) {
        return plan_tree(plan);
    }
    let mut columns: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for r in &rows {
        if let Value::Object(m) = r {
            for k in m.keys() {
                if seen.insert(k.clone()) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| cell(&r[c.as_str()])).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| row[i].chars().count().min(60))
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let clip = |s: &str, w: usize| -> String {
        if s.chars().count() > w {
            let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
            t.push('…');
            t
        } else {
            format!("{s:<w$}")
        }
    };
    let line = |parts: Vec<String>| format!("| {} |\n", parts.join(" | "));
    let mut out = line(
        columns
            .iter()
            .zip(&widths)
            .map(|(c, &w)| clip(c, w))
            .collect(),
    );
    out.push_str(&format!(
        "|{}|\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    ));
    for row in &cells {
        out.push_str(&line(
            row.iter().zip(&widths).map(|(c, &w)| clip(c, w)).collect(),
        ));
    }
    out.push_str(&format!(
        "({} row{})\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out
}

fn print(result: &Value, as_json: bool) {
    if as_json {
        println!("{result}");
    } else {
        print!("{}", table(result));
    }
}

/// Runs one statement or the shell.
pub fn run(args: &SqlArgs) -> anyhow::Result<()> {
    let params: Value =
        serde_json::from_str(&args.params).context("--params must be a JSON object")?;
    let target = args.endpoint.open()?;
    if let Some(statement) = &args.statement {
        let result = target.execute(statement, &params)?;
        print(&result, args.json);
        return Ok(());
    }
    shell(&target, &params, args.json)
}

fn shell(target: &Endpoint, params: &Value, mut as_json: bool) -> anyhow::Result<()> {
    let mut editor = rustyline::DefaultEditor::new().context("starting the line editor")?;
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".nearstore_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    eprintln!(
        "NearStore SQL shell: end statements with ';'. \\json toggles JSON output, \\q quits."
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "nearstore> "
        } else {
            "      ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(l) => l,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() {
            match trimmed {
                "" => continue,
                "\\q" | "quit" | "exit" => break,
                "\\json" => {
                    as_json = !as_json;
                    eprintln!("JSON output {}", if as_json { "on" } else { "off" });
                    continue;
                }
                _ => {}
            }
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let statement = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(statement.trim());
        match target.execute(&statement, params) {
            Ok(result) => print(&result, as_json),
            Err(e) => eprintln!("error: {e:#}"),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_have_a_header_a_rule_and_a_row_count() {
        let t = table(&json!({"rows": [{"id": 1, "title": "a"}, {"id": 22, "extra": [1]}]}));
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "| id | title | extra |");
        assert_eq!(lines[1], "|----|-------|-------|");
        assert_eq!(lines[2], "| 1  | a     |       |");
        assert_eq!(lines[3], "| 22 |       | [1]   |");
        assert_eq!(lines[4], "(2 rows)");
        assert_eq!(table(&json!({"rows": []})), "(0 rows)\n");
    }
}
