//! `gaptrack shell`: a script on standard input, and a person at a terminal (driven
//! through a tmux pseudo-terminal: line editing, multi-line statements, Tab completion,
//! history, Ctrl-C).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{bin, fixture, ingest_all, stderr, stdout, with_stdin};

/// `gaptrack --store STORE shell ARGS` with `script` on its standard input.
fn shell(store: &Path, args: &[&str], script: &str) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("--store").arg(store).arg("shell").args(args);
    with_stdin(cmd, script.as_bytes())
}

fn loaded_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = ingest_all(&store, &fixture());
    assert!(o.status.success(), "{}", stderr(&o));
    (tmp, store)
}

#[test]
fn a_script_runs_statements_over_lines_and_dot_commands() {
    let (tmp, store) = loaded_store();
    let out_file = tmp.path().join("waves.csv");
    let script = format!(
        "-- a comment alone does nothing\n\
         .format csv\n\
         SELECT wave\n  FROM waves\n  ORDER BY wave;\n\
         SELECT ';' AS semi; SELECT count(*) AS n FROM waves;\n\
         .schema waves\n\
         .output {}\n\
         SELECT wave FROM waves WHERE wave > '2019' ORDER BY wave;\n\
         .output\n\
         .format json\n\
         SELECT 1 AS one;\n",
        out_file.display()
    );
    let o = shell(&store, &[], &script);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let (first, rest) = text.split_once("semi\n;\nn\n3\n").expect(&text);
    assert_eq!(first, "wave\n2019\n2020\n2021\n");
    assert!(rest.starts_with("column,type,nullable\nwave,"), "{rest}");
    assert!(rest.ends_with("[{\"one\":1}]\n"), "{rest}");
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "wave\n2020\n2021\n"
    );
}

#[test]
fn a_script_stops_at_its_first_error_with_its_exit_code() {
    let (_tmp, store) = loaded_store();
    let o = shell(
        &store,
        &["--format", "csv"],
        "SELECT 1 AS a;\nSELECT * FROM gap_trnd;\nSELECT 2 AS b;\n",
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "a\n1\n");
    assert!(
        stderr(&o).contains("did you mean gap_trend?"),
        "{}",
        stderr(&o)
    );
    let o = shell(&store, &[], "INSERT INTO waves VALUES ('x');\n");
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    let o = shell(&store, &[], ".schema gapz\n");
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("did you mean gaps?"), "{}", stderr(&o));
    let o = shell(&store, &[], ".format xml\n");
    assert_eq!(o.status.code(), Some(2));
}

/// A shell in a detached tmux session of its own (its own server socket), on a
/// terminal of 200 columns.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn start(dir: &Path, command: &str) -> Tmux {
        let socket = dir.join("tmux.sock");
        let t = Tmux { socket };
        let ok = t
            .cmd(&["new-session", "-d", "-x", "200", "-y", "50", command])
            .status()
            .unwrap();
        assert!(ok.success(), "tmux did not start");
        t
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).args(args);
        c
    }
    /// Presses keys: text is typed as it is; `Enter`, `Tab`, `Up`, `Home`, `C-c`, `C-u`
    /// are the keys of those names.
    fn keys(&self, keys: &[&str]) {
        const NAMED: &[&str] = &["Enter", "Tab", "Up", "Home", "C-c", "C-u"];
        for k in keys {
            let mut args = vec!["send-keys", "-t", "0"];
            if !NAMED.contains(k) {
                args.push("-l");
            }
            // tmux reads a `;` ending an argument as its command separator: `\;` is one.
            let escaped = match k.strip_suffix(';') {
                Some(head) => format!("{head}\\;"),
                None => k.to_string(),
            };
            args.push(&escaped);
            assert!(self.cmd(&args).status().unwrap().success(), "{k:?}");
        }
    }
    fn screen(&self) -> String {
        let o = self
            .cmd(&["capture-pane", "-p", "-t", "0", "-S", "-200"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    /// Waits until the screen shows `text` (30 s at most; the screen has no trailing
    /// blanks).
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the screen never showed {text:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Tmux {
    /// Waits until the shell prompts for a new statement (its last line is the prompt)
    /// and returns the screen.
    fn ready(&self) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if s.lines().rev().find(|l| !l.trim().is_empty()) == Some("gaptrack>") {
                return s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the shell never prompted again:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).status();
    }
}

#[test]
fn a_person_at_a_terminal_edits_completes_and_recalls() {
    let (tmp, store) = loaded_store();
    let history = tmp.path().join("history");
    let command = format!(
        "GAPTRACK_HISTORY={} {} --store {} shell; echo shell-exited-$?; sleep 60",
        history.display(),
        env!("CARGO_BIN_EXE_gaptrack"),
        store.display()
    );
    let t = Tmux::start(tmp.path(), &command);
    t.ready();
    // A statement over two lines: Enter before the `;` continues it.
    t.keys(&["SELECT count(*) AS n_waves", "Enter"]);
    t.wait_for("...>");
    t.keys(&["FROM waves;", "Enter"]);
    assert!(t.ready().contains("| 3       |"));
    // Tab completes a view's name; the line is edited before it runs (Home, then a
    // word typed at its start).
    t.keys(&["FROM gap_tr", "Tab"]);
    t.wait_for("FROM gap_trend");
    t.keys(&[
        " LIMIT 1;",
        "Home",
        "SELECT count(*) AS trend_rows ",
        "Enter",
    ]);
    assert!(t.ready().contains("| trend_rows |"));
    // Ctrl-C clears the line being typed.
    t.keys(&["SELECT this is never run", "C-c"]);
    t.ready();
    t.keys(&[".timer on", "Enter"]);
    t.ready();
    t.keys(&["SELECT 40 + 2 AS answer;", "Enter"]);
    let s = t.ready();
    assert!(s.contains("| 42     |") && s.contains("Run Time: "), "{s}");
    // Up recalls the last statement.
    t.keys(&["Up"]);
    t.wait_for("gaptrack> SELECT 40 + 2 AS answer;");
    t.keys(&["C-u", ".quit", "Enter"]);
    t.wait_for("shell-exited-0");
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("SELECT count(*) AS n_waves") && saved.contains("SELECT 40 + 2 AS answer;"),
        "{saved}"
    );
    assert!(!saved.contains("never run"), "{saved}");
}
