//! docs/sweeps.md's Kubernetes Indexed Jobs, parsed as YAML and run: each is a `batch/v1` Job in `Indexed` completion
//! mode whose `completions` equal its `parallelism` and its sweep's `--shards`, and its container's command, run once
//! per completion index with `JOB_COMPLETION_INDEX` set (each volume mount a directory of a temporary folder, `wgtrain`
//! the built binary, the data a small CSV), writes shards that `wgtrain sweep --merge` turns into exactly the table and
//! results of the unsharded run. Needs no cluster: what Kubernetes adds (pods, volumes) is the part not under test.

mod support;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::*;
use yaml_rust2::{Yaml, YamlLoader};

/// The text of every ```yaml block in docs/sweeps.md.
fn yaml_blocks() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/sweeps.md");
    let text = std::fs::read_to_string(&path).expect("docs/sweeps.md");
    let (mut blocks, mut current) = (Vec::new(), None::<String>);
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), l) if l.starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

fn string(y: &Yaml, what: &str) -> String {
    y.as_str().unwrap_or_else(|| panic!("{what} is not a string: {y:?}")).to_string()
}

fn strings(y: &Yaml, what: &str) -> Vec<String> {
    y.as_vec().unwrap_or_else(|| panic!("{what} is not a list: {y:?}")).iter().map(|s| string(s, what)).collect()
}

/// The words `sh -c SCRIPT` would run, with `JOB_COMPLETION_INDEX` set to `index`: the shell splits them.
fn shell_words(script: &str, index: i64) -> Vec<String> {
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("printf '%s\\0' {script}"))
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .output()
        .expect("sh runs");
    assert!(o.status.success(), "sh could not split {script}: {}", stderr(&o));
    String::from_utf8(o.stdout).expect("UTF-8").split_terminator('\0').map(str::to_string).collect()
}

/// The value after `option` in `words`.
fn value<'a>(words: &'a [String], option: &str) -> &'a str {
    let i = words.iter().position(|w| w == option).unwrap_or_else(|| panic!("no {option} in {words:?}"));
    words.get(i + 1).unwrap_or_else(|| panic!("{option} has no value in {words:?}"))
}

/// Runs one Indexed Job manifest's container command for every completion index and checks the merge.
fn run_indexed_job(job: &Yaml, dir: &Path) {
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"), "{job:?}");
    let spec = &job["spec"];
    let completions = spec["completions"].as_i64().expect("spec.completions is an integer");
    assert_eq!(spec["parallelism"].as_i64(), Some(completions), "parallelism = completions, as documented");
    assert!(completions >= 2, "a sweep over {completions} shard");
    let pod = &spec["template"]["spec"];
    let containers = pod["containers"].as_vec().expect("spec.template.spec.containers");
    assert_eq!(containers.len(), 1, "one container: the sweep");
    let container = &containers[0];
    let command = strings(&container["command"], "command");
    let args = strings(&container["args"], "args");
    assert_eq!(command, ["sh", "-c"], "the shell expands $JOB_COMPLETION_INDEX");
    assert_eq!(args.len(), 1, "one shell script: {args:?}");

    // Each volume mount becomes a directory of `dir`, named after its volume, which the pod must declare.
    let volumes: Vec<String> =
        pod["volumes"].as_vec().expect("volumes").iter().map(|v| string(&v["name"], "volume name")).collect();
    let mut script = args[0].clone();
    for mount in container["volumeMounts"].as_vec().expect("volumeMounts") {
        let name = string(&mount["name"], "volumeMounts name");
        assert!(volumes.contains(&name), "the mount {name} names no volume of the pod: {volumes:?}");
        let host = dir.join(&name);
        std::fs::create_dir_all(&host).unwrap();
        let at = string(&mount["mountPath"], "mountPath");
        script = script.replace(&format!("{at}/"), &format!("{}/", host.display()));
    }
    let words = shell_words(&script, 0);
    assert_eq!(&words[..2], ["wgtrain", "sweep"], "{script}");
    assert_eq!(value(&words, "--shard"), "auto", "the shard comes from JOB_COMPLETION_INDEX");
    assert_eq!(value(&words, "--shards"), completions.to_string(), "--shards = completions");
    let data = value(&words, "--data");
    std::fs::write(data, linear_csv()).unwrap_or_else(|e| panic!("{data} (not in a mounted volume?): {e}"));

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_wgtrain"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let pods: Vec<_> = (0..completions)
        .map(|i| {
            let child = Command::new(&command[0])
                .args(&command[1..])
                .arg(&script)
                .current_dir(dir)
                .env("PATH", &path)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("XDG_RUNTIME_DIR", std::env::temp_dir())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("sh starts");
            (i, child)
        })
        .collect();
    let mut shards = Vec::new();
    for (i, child) in pods {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "completion index {i} failed: {}", stderr(&o));
        let results = shell_words(&script, i);
        let results = value(&results, "--results").to_string();
        assert!(Path::new(&results).exists(), "index {i} wrote no {results}");
        shards.push(results);
    }

    // The same sweep without sharding (nor a checkpoint), and the merge of the shards: equal tables, byte-equal
    // results.
    let mut whole: Vec<&str> = Vec::new();
    let mut rest = words[1..].iter();
    while let Some(w) = rest.next() {
        match w.as_str() {
            "--shard" | "--shards" | "--results" | "--checkpoint-dir" => {
                rest.next();
            }
            "--resume" => {}
            w => whole.push(w),
        }
    }
    whole.extend(["--results", "whole.json"]);
    let unsharded = wgtrain(dir, &whole);
    assert!(unsharded.status.success(), "the unsharded sweep: {}", stderr(&unsharded));
    let mut merge = vec!["sweep", "--merge"];
    merge.extend(shards.iter().map(String::as_str));
    merge.extend(["--results", "merged.json", "--quiet"]);
    let merged = wgtrain(dir, &merge);
    assert!(merged.status.success(), "the merge: {}", stderr(&merged));
    assert_eq!(stdout(&merged), stdout(&unsharded), "the merged table is the unsharded one");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(read("merged.json"), read("whole.json"), "the merged results are the unsharded ones");
}

#[test]
fn the_documented_indexed_job_runs_each_completion_index_and_merges_into_the_unsharded_sweep() {
    let mut jobs = 0;
    for block in yaml_blocks() {
        let docs = YamlLoader::load_from_str(&block).unwrap_or_else(|e| panic!("docs/sweeps.md YAML: {e}\n{block}"));
        for job in docs.iter().filter(|d| d["kind"].as_str() == Some("Job")) {
            if job["spec"]["completionMode"].as_str() != Some("Indexed") {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            run_indexed_job(job, dir.path());
            jobs += 1;
        }
    }
    assert!(jobs >= 1, "docs/sweeps.md shows no Kubernetes Indexed Job");
}
