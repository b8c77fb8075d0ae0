//! Which files a batch uploads: a list as given, or a directory walked with include and exclude
//! patterns. Everything here happens before the first request.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// Where the files of a batch come from.
#[derive(Debug, Clone)]
pub(crate) enum FileSet {
    /// These paths, in this order (a path that is missing fails as that file's result; a path
    /// named twice counts once).
    List(Vec<PathBuf>),
    /// Every regular file under `root` that matches.
    Dir {
        root: PathBuf,
        include: Vec<String>,
        exclude: Vec<String>,
        follow_links: bool,
    },
}

/// One file to upload, as found.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub path: PathBuf,
    /// Size when listed (0 if it could not be read: its upload then says why).
    pub bytes: u64,
}

/// What a listing found: the files, and the symbolic links left out (not followed).
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub files: Vec<Found>,
    pub skipped_links: Vec<PathBuf>,
}

/// Patterns of one kind, compiled. A pattern without `/` matches a file's name at any depth
/// (`*.jsonl`); one with `/` matches the path relative to the root (`data/**/*.jsonl`).
struct Patterns {
    names: GlobSet,
    paths: GlobSet,
    empty: bool,
}

impl Patterns {
    fn new(kind: &str, patterns: &[String]) -> Result<Patterns> {
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        for pattern in patterns {
            let glob = GlobBuilder::new(pattern.trim_start_matches("./"))
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    Error::invalid_input(format!("invalid {kind} pattern {pattern:?}: {e}"))
                })?;
            if pattern.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::invalid_input(format!("invalid {kind} patterns: {e}")))
        };
        Ok(Patterns {
            names: build(names)?,
            paths: build(paths)?,
            empty: patterns.is_empty(),
        })
    }

    fn matches(&self, relative: &Path) -> bool {
        let name_matches = relative
            .file_name()
            .is_some_and(|name| self.names.is_match(Path::new(name)));
        name_matches || self.paths.is_match(relative)
    }
}

/// Lists the files of `set`. Directory walks are sorted by path, so a rerun lists the same
/// files in the same order.
pub(crate) fn list(set: &FileSet) -> Result<Listing> {
    match set {
        FileSet::List(paths) => {
            // A file named twice is uploaded once (as first named).
            let mut seen = std::collections::HashSet::new();
            let files = paths
                .iter()
                .filter(|path| seen.insert(std::path::absolute(path).unwrap_or((*path).clone())))
                .map(|path| Found {
                    bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
                    path: path.clone(),
                })
                .collect();
            Ok(Listing {
                files,
                skipped_links: Vec::new(),
            })
        }
        FileSet::Dir {
            root,
            include,
            exclude,
            follow_links,
        } => walk(root, include, exclude, *follow_links),
    }
}

fn walk(root: &Path, include: &[String], exclude: &[String], follow: bool) -> Result<Listing> {
    let include = Patterns::new("include", include)?;
    let exclude = Patterns::new("exclude", exclude)?;
    let meta = std::fs::metadata(root)
        .map_err(|e| Error::io(format!("cannot read the directory {}", root.display()), e))?;
    if !meta.is_dir() {
        return Err(Error::invalid_input(format!(
            "{} is not a directory",
            root.display()
        )));
    }
    let mut found = Listing::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(follow)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| {
            let at = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| root.display().to_string());
            let message = format!("cannot walk {at}");
            match e.into_io_error() {
                Some(io) => Error::io(message, io),
                None => Error::invalid_input(format!("{message}: a symbolic link loop")),
            }
        })?;
        let is_link = entry.path_is_symlink() && entry.file_type().is_symlink();
        if !entry.file_type().is_file() && !is_link {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if (!include.empty && !include.matches(relative)) || exclude.matches(relative) {
            continue;
        }
        if is_link {
            // Not followed: said, not silently dropped.
            found.skipped_links.push(entry.into_path());
            continue;
        }
        let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
        found.files.push(Found {
            path: entry.into_path(),
            bytes,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "a.jsonl",
            "b.txt",
            "sub/c.jsonl",
            "sub/deep/d.jsonl",
            "skip/e.jsonl",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, file).unwrap();
        }
        dir
    }

    fn names(dir: &Path, include: &[&str], exclude: &[&str]) -> Vec<String> {
        let set = FileSet::Dir {
            root: dir.to_owned(),
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            follow_links: false,
        };
        list(&set)
            .unwrap()
            .files
            .into_iter()
            .map(|f| {
                let rel = f.path.strip_prefix(dir).unwrap().to_owned();
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect()
    }

    #[test]
    fn name_patterns_match_at_any_depth_and_path_patterns_from_the_root() {
        let dir = tree();
        let all = names(dir.path(), &[], &[]);
        assert_eq!(
            all,
            [
                "a.jsonl",
                "b.txt",
                "skip/e.jsonl",
                "sub/c.jsonl",
                "sub/deep/d.jsonl"
            ]
        );
        assert_eq!(
            names(dir.path(), &["*.jsonl"], &["skip/**"]),
            ["a.jsonl", "sub/c.jsonl", "sub/deep/d.jsonl"]
        );
        assert_eq!(
            names(dir.path(), &["sub/*.jsonl"], &[]),
            ["sub/c.jsonl"],
            "* does not cross a /"
        );
        assert_eq!(names(dir.path(), &["sub/**"], &["d.*"]), ["sub/c.jsonl"]);
    }

    #[test]
    fn a_file_named_twice_is_listed_once() {
        let dir = tree();
        let a = dir.path().join("a.jsonl");
        let again = dir.path().join("sub/../a.jsonl");
        let set = FileSet::List(vec![a.clone(), dir.path().join("b.txt"), a.clone()]);
        let found = list(&set).unwrap().files;
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].path, a);
        assert_eq!(found[0].bytes, "a.jsonl".len() as u64);
        // Spelled differently: std::path::absolute does not resolve "..", so both stay.
        assert_eq!(list(&FileSet::List(vec![a, again])).unwrap().files.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_not_followed_are_listed_as_skipped() {
        let dir = tree();
        std::os::unix::fs::symlink(dir.path().join("a.jsonl"), dir.path().join("link.jsonl"))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("sub"), dir.path().join("linkdir")).unwrap();
        let set = |follow_links| FileSet::Dir {
            root: dir.path().to_owned(),
            include: vec!["*.jsonl".into()],
            exclude: vec![],
            follow_links,
        };
        let listing = list(&set(false)).unwrap();
        assert_eq!(listing.files.len(), 4);
        // The directory link does not match *.jsonl; the file link does.
        assert_eq!(listing.skipped_links, [dir.path().join("link.jsonl")]);
        let followed = list(&set(true)).unwrap();
        assert!(followed.skipped_links.is_empty());
        assert_eq!(followed.files.len(), 4 + 1 + 2);
    }

    #[test]
    fn bad_pattern_and_missing_root_fail_before_anything_is_sent() {
        let dir = tree();
        let bad = FileSet::Dir {
            root: dir.path().to_owned(),
            include: vec!["[".into()],
            exclude: vec![],
            follow_links: false,
        };
        let err = list(&bad).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("include pattern \"[\""), "{err}");
        let missing = FileSet::Dir {
            root: dir.path().join("nope"),
            include: vec![],
            exclude: vec![],
            follow_links: false,
        };
        assert!(list(&missing).unwrap_err().to_string().contains("nope"));
    }
}
