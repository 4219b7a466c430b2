//! Reading the files a user names — scenarios, LDIF, certificates: regular files only (a
//! FIFO, a device or a directory is refused at once instead of hanging or being read
//! forever) and no more than a limit, so `/dev/zero` or a runaway file cannot exhaust
//! memory. The error names the file and says why.

use std::io::{self, Read};
use std::path::Path;

/// The largest scenario file read (a scenario is a few KiB; generated worlds are written
/// with `generate`, not spelled out).
pub const SCENARIO_LIMIT: u64 = 16 << 20;
/// The largest LDIF file read (about a million small entries).
pub const LDIF_LIMIT: u64 = 512 << 20;

/// The text of the regular file at `path`, at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a directory, FIFO or device is not read)",
        ));
    }
    if meta.len() > limit {
        return Err(too_big(limit));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(too_big(limit)); // it grew, or claims a size it does not have (/proc)
    }
    Ok(text)
}

fn too_big(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("larger than the {} MiB this file may have", limit >> 20),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = std::env::temp_dir().join(format!("wbsim-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("ok.txt");
        std::fs::write(&f, "hello").unwrap();
        assert_eq!(read_text(&f, 10).unwrap(), "hello");
        let e = read_text(&f, 3).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
        let e = read_text(&dir, 10).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        // A device that never ends, and a FIFO nobody writes to: refused, not read.
        let e = read_text(Path::new("/dev/zero"), 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let e = read_text(&fifo, 10).unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
