//! LDIF (RFC 2849) import and export. Import applies content records and `changetype:`
//! add / modify / delete / modrdn records in order, as the DC itself (so objectGUID and
//! objectSid in an export survive a round trip); group members are linked after every
//! entry exists, so a file may list a group before its members. Export writes entries
//! parents first, base64 where RFC 2849 asks, and leaves out back-links (memberOf) and
//! secrets. Left out: `attr:< file://` references and LDIF controls.

use super::ad_error::AdError;
use super::add::AddRequest;
use super::modify::{Change, ModOp, ModifyRequest};
use super::modify_dn::ModifyDnRequest;
use super::{Directory, OpContext, Principal};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::fmt::Write as _;

#[derive(Debug, thiserror::Error)]
pub enum LdifError {
    #[error("{source_name}:{line}: {message}")]
    Syntax {
        source_name: String,
        line: usize,
        message: String,
    },
    #[error("{source_name}:{line}: {dn}: LDAP {code} {diagnostic}")]
    Rejected {
        source_name: String,
        line: usize,
        dn: String,
        code: i64,
        diagnostic: String,
    },
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Add {
        dn: String,
        attrs: Vec<(String, Vec<u8>)>,
    },
    Modify {
        dn: String,
        changes: Vec<(ModOp, String, Vec<Vec<u8>>)>,
    },
    Delete {
        dn: String,
    },
    ModRdn {
        dn: String,
        new_rdn: String,
        new_superior: Option<String>,
    },
}

/// Parse LDIF text into records, each with the line it starts on.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<(usize, Record)>, LdifError> {
    let err = |line: usize, message: String| LdifError::Syntax {
        source_name: source_name.to_string(),
        line,
        message,
    };
    // Unfold continuation lines, drop comments; keep the first line number of each.
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut in_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix(' ') {
            if in_comment {
                continue;
            }
            match lines.last_mut() {
                Some((_, l)) if !l.is_empty() => l.push_str(rest),
                _ => {
                    return Err(err(
                        i + 1,
                        "continuation line with nothing to continue".into(),
                    ))
                }
            }
            continue;
        }
        in_comment = raw.starts_with('#');
        if !in_comment {
            lines.push((i + 1, raw.to_string()));
        }
    }
    let mut records = Vec::new();
    let mut block: Vec<(usize, String, Vec<u8>)> = Vec::new();
    let flush = |block: &mut Vec<(usize, String, Vec<u8>)>,
                 records: &mut Vec<(usize, Record)>|
     -> Result<(), LdifError> {
        if block.is_empty() {
            return Ok(());
        }
        let lines = std::mem::take(block);
        let (start, ref first, ref dn_val) = lines[0];
        if first.eq_ignore_ascii_case("version") && lines.len() == 1 {
            return Ok(());
        }
        let lines = if first.eq_ignore_ascii_case("version") {
            &lines[1..]
        } else {
            &lines[..]
        };
        let (start, key, dn_val) = lines
            .first()
            .map(|(l, k, v)| (*l, k.clone(), v.clone()))
            .unwrap_or((start, first.clone(), dn_val.clone()));
        if !key.eq_ignore_ascii_case("dn") {
            return Err(err(
                start,
                format!("a record must start with `dn:`, found `{key}:`"),
            ));
        }
        let dn = String::from_utf8(dn_val).map_err(|_| err(start, "dn is not UTF-8".into()))?;
        let rest = &lines[1..];
        let (changetype, body) = match rest.first() {
            Some((_, k, v)) if k.eq_ignore_ascii_case("changetype") => {
                (String::from_utf8_lossy(v).to_ascii_lowercase(), &rest[1..])
            }
            _ => ("add".to_string(), rest),
        };
        let text_of = |l: usize, v: &[u8]| {
            String::from_utf8(v.to_vec()).map_err(|_| err(l, "value is not UTF-8".into()))
        };
        let record = match changetype.as_str() {
            "add" => Record::Add {
                dn,
                attrs: body
                    .iter()
                    .map(|(_, k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            "delete" => Record::Delete { dn },
            "modrdn" | "moddn" => {
                let mut new_rdn = None;
                let mut new_superior = None;
                for (l, k, v) in body {
                    match k.to_ascii_lowercase().as_str() {
                        "newrdn" => new_rdn = Some(text_of(*l, v)?),
                        "deleteoldrdn" => {}
                        "newsuperior" => new_superior = Some(text_of(*l, v)?),
                        other => {
                            return Err(err(
                                *l,
                                format!("unexpected `{other}:` in a modrdn record"),
                            ))
                        }
                    }
                }
                Record::ModRdn {
                    dn,
                    new_rdn: new_rdn
                        .ok_or_else(|| err(start, "modrdn record without newrdn".into()))?,
                    new_superior,
                }
            }
            "modify" => {
                let mut changes = Vec::new();
                let mut i = 0;
                while i < body.len() {
                    let (l, k, v) = &body[i];
                    let op = match k.to_ascii_lowercase().as_str() {
                        "add" => ModOp::Add,
                        "delete" => ModOp::Delete,
                        "replace" => ModOp::Replace,
                        "-" => {
                            i += 1;
                            continue;
                        }
                        other => {
                            return Err(err(
                                *l,
                                format!("expected add:, delete: or replace:, found `{other}:`"),
                            ))
                        }
                    };
                    let attr = text_of(*l, v)?;
                    let mut vals = Vec::new();
                    i += 1;
                    while i < body.len() && body[i].1 != "-" {
                        if !body[i].1.eq_ignore_ascii_case(&attr) {
                            return Err(err(
                                body[i].0,
                                format!("`{}:` inside the change of `{attr}`", body[i].1),
                            ));
                        }
                        vals.push(body[i].2.clone());
                        i += 1;
                    }
                    changes.push((op, attr, vals));
                }
                Record::Modify { dn, changes }
            }
            other => return Err(err(start, format!("unknown changetype `{other}`"))),
        };
        records.push((start, record));
        Ok(())
    };
    for (n, line) in lines {
        if line.trim().is_empty() {
            flush(&mut block, &mut records)?;
            continue;
        }
        if line == "-" {
            block.push((n, "-".into(), Vec::new()));
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            // What the line holds is not echoed: a file that is not LDIF at all (a
            // secret, the environment) would end up on the terminal or in a log.
            return Err(err(
                n,
                format!(
                    "expected `attribute: value`, found a line of {} characters without a colon",
                    line.chars().count()
                ),
            ));
        };
        let value = if let Some(b) = rest.strip_prefix(':') {
            B64.decode(b.trim())
                .map_err(|e| err(n, format!("bad base64 for `{key}`: {e}")))?
        } else if rest.starts_with('<') {
            return Err(err(
                n,
                format!("`{key}:<` file references are not supported; inline the value"),
            ));
        } else {
            rest.strip_prefix(' ')
                .unwrap_or(rest)
                .trim_start()
                .as_bytes()
                .to_vec()
        };
        block.push((n, key.trim().to_string(), value));
    }
    flush(&mut block, &mut records)?;
    Ok(records)
}

impl Directory {
    /// Import LDIF as the DC would (no access checks, TLS assumed). Stops at the first
    /// record AD refuses and says which line and why. Returns the number of records. The
    /// same file on the same state at the same instant starts from the state it left before
    /// (see `template`).
    pub fn import_ldif(&self, text: &str, source_name: &str) -> Result<usize, LdifError> {
        let keep_as = match self.import_kept(text) {
            super::template::Import::Taken(records) => return Ok(records),
            super::template::Import::KeepAs(recipe) => Some(recipe),
            super::template::Import::Unkept => None,
        };
        let records = self.import_records(text, source_name)?;
        if let Some(recipe) = keep_as {
            self.keep_as(*recipe, records);
        }
        Ok(records)
    }

    fn import_records(&self, text: &str, source_name: &str) -> Result<usize, LdifError> {
        let records = parse(text, source_name)?;
        let now = self.now();
        let ctx = OpContext {
            tls: true,
            ..OpContext::default()
        };
        let p = Principal::System;
        let mut pending_members: Vec<(usize, String, Vec<Vec<u8>>)> = Vec::new();
        let count = records.len();
        let rejected = |line: usize, dn: &str, e: AdError| {
            let (code, diagnostic, _) = e.answer();
            LdifError::Rejected {
                source_name: source_name.to_string(),
                line,
                dn: dn.to_string(),
                code: code as i64,
                diagnostic,
            }
        };
        for (line, record) in records {
            let mut st = self.write();
            let res = match record {
                Record::Add { dn, attrs } => {
                    let mut merged: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
                    let mut members = Vec::new();
                    for (k, v) in attrs {
                        if k.eq_ignore_ascii_case("member") {
                            members.push(v);
                            continue;
                        }
                        match merged.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&k)) {
                            Some((_, vals)) => vals.push(v),
                            None => merged.push((k, vec![v])),
                        }
                    }
                    if !members.is_empty() {
                        pending_members.push((line, dn.clone(), members));
                    }
                    st.add(
                        &p,
                        &ctx,
                        now,
                        AddRequest {
                            dn: dn.clone(),
                            attrs: merged,
                        },
                    )
                    .map(|_| ())
                    .map_err(|e| rejected(line, &dn, e))
                }
                Record::Modify { dn, changes } => {
                    let req = ModifyRequest {
                        dn: dn.clone(),
                        changes: changes
                            .into_iter()
                            .map(|(op, attr, values)| Change { op, attr, values })
                            .collect(),
                    };
                    st.modify(&p, &ctx, now, req)
                        .map_err(|e| rejected(line, &dn, e))
                }
                Record::Delete { dn } => st
                    .delete(&p, &ctx, now, &dn)
                    .map_err(|e| rejected(line, &dn, e)),
                Record::ModRdn {
                    dn,
                    new_rdn,
                    new_superior,
                } => st
                    .modify_dn(
                        &p,
                        now,
                        ModifyDnRequest {
                            dn: dn.clone(),
                            new_rdn,
                            new_superior,
                        },
                    )
                    .map(|_| ())
                    .map_err(|e| rejected(line, &dn, e)),
            };
            res?;
        }
        for (line, dn, members) in pending_members {
            let req = ModifyRequest {
                dn: dn.clone(),
                changes: vec![Change {
                    op: ModOp::Add,
                    attr: "member".into(),
                    values: members,
                }],
            };
            let mut st = self.write();
            let ctx = OpContext {
                permissive_modify: true,
                ..ctx.clone()
            };
            st.modify(&p, &ctx, now, req)
                .map_err(|e| rejected(line, &dn, e))?;
        }
        Ok(count)
    }

    /// Export the subtree at `base` (the whole domain when `None`) as LDIF.
    pub fn export_ldif(&self, base: Option<&str>) -> Result<String, AdError> {
        let st = self.read();
        let ids = match base {
            Some(b) => {
                let id = st.resolve(b)?;
                st.store.subtree(id, false)
            }
            None => st.store.all(),
        };
        let mut out = String::from("version: 1\n");
        for id in ids {
            let Some(e) = st.store.get(id) else { continue };
            out.push('\n');
            push_line(&mut out, "dn", e.dn.to_string().as_bytes());
            for v in e.values("objectClass") {
                push_line(&mut out, "objectClass", v);
            }
            for (name, values) in e.attrs.iter() {
                if name == "objectClass" || name == "memberOf" {
                    continue;
                }
                for v in values {
                    push_line(&mut out, name, v);
                }
            }
        }
        Ok(out)
    }
}

/// One `name: value` line, base64 when RFC 2849 requires it, folded at 76 columns.
fn push_line(out: &mut String, name: &str, value: &[u8]) {
    let safe = std::str::from_utf8(value).ok().filter(|s| {
        !s.starts_with([' ', ':', '<'])
            && !s.ends_with(' ')
            && s.chars()
                .all(|c| c != '\n' && c != '\r' && c != '\0' && c.is_ascii())
    });
    let line = match safe {
        Some(s) => format!("{name}: {s}"),
        None => format!("{name}:: {}", B64.encode(value)),
    };
    let chars: Vec<char> = line.chars().collect();
    for (i, chunk) in chars.chunks(76).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = writeln!(out, "{}", chunk.iter().collect::<String>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folded_base64_and_changetypes() {
        let text = "version: 1\n# a comment\n folded comment\n\ndn: CN=Alice,OU=Staff,DC=gntech,DC=me\nobjectClass: user\ndescription: a long\n  value\nunicodePwd:: IgBwAGEAcwBzAHcAbwByAGQAIgA=\n\ndn: CN=Alice,OU=Staff,DC=gntech,DC=me\nchangetype: modify\nreplace: description\ndescription: new\n-\ndelete: telephoneNumber\n-\n\ndn: CN=Bob,DC=gntech,DC=me\nchangetype: delete\n";
        let recs = parse(text, "t.ldif").unwrap();
        assert_eq!(recs.len(), 3);
        match &recs[0].1 {
            Record::Add { attrs, .. } => {
                assert_eq!(
                    attrs[1],
                    ("description".to_string(), b"a long value".to_vec())
                );
                assert_eq!(
                    attrs[2].1,
                    super::super::password_policy::encode_unicode_pwd("password")
                );
            }
            r => panic!("{r:?}"),
        }
        match &recs[1].1 {
            Record::Modify { changes, .. } => {
                assert_eq!(changes.len(), 2);
                assert_eq!(
                    changes[1],
                    (ModOp::Delete, "telephoneNumber".to_string(), vec![])
                );
            }
            r => panic!("{r:?}"),
        }
        assert_eq!(recs[2].0, 19);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("dn: CN=x,DC=y\nno colon here\n", "bad.ldif").unwrap_err();
        assert!(e.to_string().starts_with("bad.ldif:2:"), "{e}");
        let e = parse("objectClass: user\n", "bad.ldif").unwrap_err();
        assert!(e.to_string().contains("must start with `dn:`"), "{e}");
        // A file that is not LDIF (the environment, a secret) is not echoed back.
        let e = parse("PATH=/usr/bin\0TOKEN=s3cr3t\n", "/proc/self/environ").unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(e.to_string().contains("without a colon"), "{e}");
    }

    #[test]
    fn unsafe_values_are_base64_and_long_lines_fold() {
        let mut out = String::new();
        push_line(&mut out, "objectGUID", &[0, 1, 2]);
        assert_eq!(out, "objectGUID:: AAEC\n");
        let mut out = String::new();
        push_line(&mut out, "description", "x".repeat(100).as_bytes());
        assert_eq!(out.lines().count(), 2);
        assert!(out.lines().nth(1).unwrap().starts_with(' '));
    }
}
