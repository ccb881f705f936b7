//! `vigie notify`: one notice per network owner with only their servers
//! and what to do, as CERTs send to network owners.
//!
//! Owners come from a hand-written CSV (`--owners`) and RIR bulk data in
//! RPSL form (`--rpsl`), in one longest-prefix-match table
//! (`vigie_feeds::OwnerTable`). For each owner with an Exchange server,
//! the notice is written as Markdown, HTML and an `.eml` message (text +
//! HTML + a CSV of their hosts): that is the dry run, the default. With
//! `--smtp URL --send`, each message also goes to the SMTP server, paced
//! by `--rate`, and is recorded in the history database before and after
//! sending (one idempotency key per owner and run), so a rerun after a
//! crash never mails an owner twice.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufReader;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use vigie_feeds::{Contact, ContactSource, OwnerTable, RirNetworks};
use vigie_model::scan::HostResult;
use vigie_model::{ItemError, ItemErrorKind, csv_safe};
use vigie_report::html::host_state;
use vigie_report::notice::{self, Recipient};
use vigie_report::owners::Scope;
use vigie_store::{Notice, NoticeState, Store};

use crate::cmd::report::{db_path, print_errors, read_files};
use crate::exit::Outcome;

/// Arguments of `vigie notify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV of `owner,contact,cidr_or_domain` rows.
    #[arg(long)]
    pub owners: Option<PathBuf>,
    /// RIR bulk data in RPSL form (RIPE's `ripe.db.inetnum`,
    /// `ripe.db.inet6num`, `ripe.db.role`, `ripe.db.organisation`).
    #[arg(long, num_args = 1..)]
    pub rpsl: Vec<PathBuf>,
    /// Scan JSONL files (or `--db`).
    pub files: Vec<PathBuf>,
    /// Read the hosts from this history database (and record what was
    /// sent in it).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The run to notify about (default: the latest finished scan run).
    #[arg(long, requires = "db")]
    pub run: Option<i64>,
    /// Directory for the per-owner reports, `.eml` files and `index.csv`.
    #[arg(short, long, default_value = "vigie-notify")]
    pub out: PathBuf,
    /// SMTP server: `smtp://HOST:PORT` (`?tls=required` for STARTTLS) or
    /// `smtps://HOST:PORT`; login from VIGIE_SMTP_USER and
    /// VIGIE_SMTP_PASSWORD.
    #[arg(long)]
    pub smtp: Option<String>,
    /// Really send (without it, only the `.eml` files are written).
    #[arg(long, requires = "smtp")]
    pub send: bool,
    /// `From` of the messages (`Name <address>`).
    #[arg(long)]
    pub from: Option<String>,
    /// `Reply-To` of the messages.
    #[arg(long)]
    pub reply_to: Option<String>,
    /// Most messages sent per period: `N/min`, `N/s`, `N/h`.
    #[arg(long, default_value = "30/min")]
    pub rate: String,
    /// Send again notices a crash left unconfirmed (check the mail
    /// server's log first: they may have been delivered).
    #[arg(long)]
    pub resend_unconfirmed: bool,
}

/// `From` of dry-run messages when none is given.
const DRY_FROM: &str = "vigie notices <notices@vigie.invalid>";

/// File name safe on every system for an owner name.
fn file_stem(owner: &str, index: usize) -> String {
    let clean: String = owner
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .take(40)
        .collect();
    format!("{index:03}-{clean}")
}

/// The owner table from `--owners` and `--rpsl`.
fn owner_table(
    args: &Args,
    errors: &mut Vec<ItemError>,
) -> anyhow::Result<OwnerTable> {
    let mut table = OwnerTable::new();
    if let Some(path) = &args.owners {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read owner list {name}"))?;
        let (owners, bad) = vigie_report::owners::parse(&text, &name);
        errors.extend(bad);
        for o in owners {
            let id = table.contact(Contact {
                name: o.owner.clone(),
                email: o.contact.clone(),
                source: ContactSource::OwnerList,
            });
            match o.scope {
                Scope::Cidr { net, prefix } => {
                    // parse() already refused prefixes too long
                    let _ = table.insert_cidr(net, prefix, id);
                }
                Scope::Domain(d) => table.insert_domain(&d, id),
            }
        }
    }
    let mut nets = RirNetworks::default();
    for path in &args.rpsl {
        let name = path.display().to_string();
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot read RPSL file {name}"))?;
        vigie_feeds::read_rpsl(BufReader::new(file), &name, &mut nets);
    }
    errors.append(&mut nets.errors);
    if !args.rpsl.is_empty() {
        let (networks, without) = nets.resolve();
        for n in &networks {
            let id = table.rir_contact(&n.mailbox).unwrap_or_else(|| {
                table.contact(Contact {
                    name: n.contact_name.clone(),
                    email: n.mailbox.clone(),
                    source: ContactSource::Rir,
                })
            });
            for p in &n.prefixes {
                table.insert(*p, id);
            }
        }
        eprintln!(
            "vigie: RIR data: {} networks with an abuse contact, {without} \
             without; {} prefixes, {} owners in all",
            networks.len(),
            table.prefixes(),
            table.contacts().len()
        );
    }
    if args.owners.is_none() && args.rpsl.is_empty() {
        bail!(
            "give an owner list (--owners FILE) or RIR data (--rpsl FILE...)"
        );
    }
    Ok(table)
}

/// The hosts to notify about and the run they belong to (`None` for
/// JSONL files).
fn hosts(
    args: &Args,
    errors: &mut Vec<ItemError>,
) -> anyhow::Result<(Vec<HostResult>, Option<i64>)> {
    if !args.files.is_empty() {
        if args.send {
            bail!(
                "--send reads the hosts from --db (a recorded run), so that \
                 what was sent is recorded against that run; import the \
                 files first (vigie history --import / vigie import)"
            );
        }
        let records = read_files(&args.files);
        errors.extend(records.errors.iter().cloned());
        return Ok((records.hosts, None));
    }
    let Some(db) = &args.db else {
        bail!("give scan JSONL files or --db");
    };
    let mut store = Store::open_read_only(&db_path(Some(db))?)?;
    let run = match args.run {
        Some(run) => run,
        None => store
            .runs()?
            .iter()
            .rev()
            .find(|r| r.kind == "scan" && r.finished_at.is_some())
            .map(|r| r.id)
            .context("no finished scan run in the database")?,
    };
    Ok((store.hosts(run)?, Some(run)))
}

/// Names a server goes by: its target and the host name a feed gave.
fn names(h: &HostResult) -> impl Iterator<Item = &str> {
    std::iter::once(h.target.as_str()).chain(
        h.evidence
            .iter()
            .filter(|e| e.signal == "feed:hostname")
            .map(|e| e.value.as_str()),
    )
}

/// Hosts by owner id, owners in the order they were added.
fn by_owner<'h>(
    table: &OwnerTable,
    hosts: &'h [HostResult],
) -> BTreeMap<u32, Vec<&'h HostResult>> {
    let mut groups: BTreeMap<u32, Vec<&HostResult>> = BTreeMap::new();
    for h in hosts {
        if !matches!(host_state(h), "vulnerable" | "patched" | "unknown") {
            continue;
        }
        let ip = h.ip.parse::<IpAddr>().ok();
        let mut ids: Vec<u32> = Vec::new();
        for name in names(h) {
            for id in table.owners_of(name, ip) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for id in ids {
            groups.entry(id).or_default().push(h);
        }
    }
    groups
}

/// One owner's notice, rendered.
struct Rendered {
    stem: String,
    contact: Contact,
    letter: vigie_mail::Letter,
    vulnerable: usize,
    hosts: usize,
}

/// FNV-1a, for short stable Message-IDs.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn idempotency_key(run: Option<i64>, c: &Contact) -> String {
    let run = run.map_or("files".to_string(), |r| r.to_string());
    format!(
        "run:{run}|owner:{}|contact:{}",
        c.name,
        c.email.to_ascii_lowercase()
    )
}

fn render(
    id: u32,
    contact: &Contact,
    hosts: &[&HostResult],
    run: Option<i64>,
) -> Rendered {
    let to = Recipient { owner: &contact.name, contact: &contact.email };
    let vulnerable =
        hosts.iter().filter(|h| host_state(h) == "vulnerable").count();
    let stem = file_stem(&contact.name, id as usize + 1);
    let key = idempotency_key(run, contact);
    let subject = format!(
        "Exchange servers of {}: {} of {} need action",
        contact.name,
        vulnerable,
        hosts.len()
    );
    let letter = vigie_mail::Letter {
        to: contact.email.clone(),
        to_name: contact.name.clone(),
        subject,
        text: notice::markdown(to, hosts),
        html: notice::html_mail(to, hosts),
        csv_name: format!("{stem}.csv"),
        csv: notice::hosts_csv(hosts),
        message_id: format!(
            "<vigie.{}.{:016x}@vigie.invalid>",
            run.unwrap_or(0),
            fnv(&key)
        ),
    };
    Rendered {
        stem,
        contact: contact.clone(),
        letter,
        vulnerable,
        hosts: hosts.len(),
    }
}

/// Write one owner's files: `.md`, `.html`, `.eml`.
fn write_files(
    out: &Path,
    r: &Rendered,
    hosts: &[&HostResult],
    sender: &vigie_mail::Sender,
) -> Result<(), ItemError> {
    let to = Recipient { owner: &r.contact.name, contact: &r.contact.email };
    let io = |e: std::io::Error| {
        ItemError::new(
            out.display().to_string(),
            ItemErrorKind::Io,
            e.to_string(),
        )
    };
    std::fs::write(
        out.join(format!("{}.md", r.stem)),
        notice::markdown(to, hosts),
    )
    .map_err(io)?;
    std::fs::write(
        out.join(format!("{}.html", r.stem)),
        notice::html_page(to, hosts),
    )
    .map_err(io)?;
    let msg = vigie_mail::compose(&r.letter, sender)
        .map_err(|e| mail_error(r, e))?;
    vigie_mail::write_eml(&msg, &out.join(format!("{}.eml", r.stem)))
        .map_err(|e| mail_error(r, e))
}

fn mail_error(r: &Rendered, e: vigie_mail::MailError) -> ItemError {
    ItemError::new(
        format!("owner {}", r.contact.name),
        ItemErrorKind::Parse,
        e.to_string(),
    )
}

/// What sending did.
#[derive(Debug, Default)]
struct Sent {
    sent: usize,
    already: usize,
    unconfirmed: Vec<String>,
}

/// Everything `--send` needs.
struct Mailer {
    smtp: vigie_mail::Smtp,
    store: Store,
    pace: vigie_mail::Pace,
    run: i64,
    resend_unconfirmed: bool,
}

impl Mailer {
    fn new(args: &Args, run: Option<i64>) -> anyhow::Result<Mailer> {
        let url = args.smtp.as_deref().context("--send needs --smtp URL")?;
        let run = run.context("--send needs --db")?;
        let interval =
            vigie_mail::parse_rate(&args.rate).with_context(|| {
                format!("bad --rate {:?} (N/min, N/s or N/h)", args.rate)
            })?;
        let login = match (
            std::env::var("VIGIE_SMTP_USER"),
            std::env::var("VIGIE_SMTP_PASSWORD"),
        ) {
            (Ok(u), Ok(p)) => Some(vigie_mail::Login::new(u, p)),
            (Err(_), Err(_)) => None,
            _ => bail!(
                "set both VIGIE_SMTP_USER and VIGIE_SMTP_PASSWORD, or neither"
            ),
        };
        let smtp = vigie_mail::Smtp::new(url, login, Duration::from_secs(30))?;
        let db = args.db.as_deref().context("--send needs --db")?;
        let mut store = Store::open(db)?;
        store.notices_ready()?;
        Ok(Mailer {
            smtp,
            store,
            pace: vigie_mail::Pace::new(interval),
            run,
            resend_unconfirmed: args.resend_unconfirmed,
        })
    }

    /// Send one notice unless it was sent (or may have been) before.
    fn send(
        &mut self,
        r: &Rendered,
        sender: &vigie_mail::Sender,
        done: &mut Sent,
    ) -> anyhow::Result<Option<ItemError>> {
        let key = idempotency_key(Some(self.run), &r.contact);
        match self.store.notice_state(&key)? {
            Some(NoticeState::Sent) => {
                done.already += 1;
                return Ok(None);
            }
            Some(NoticeState::Sending) if !self.resend_unconfirmed => {
                done.unconfirmed.push(r.contact.email.clone());
                return Ok(None);
            }
            Some(NoticeState::Sending) => {
                self.store.notice_forget_unsent(&key)?
            }
            None => {}
        }
        let msg = match vigie_mail::compose(&r.letter, sender) {
            Ok(m) => m,
            Err(e) => return Ok(Some(mail_error(r, e))),
        };
        self.pace.wait();
        self.store.notice_sending(&Notice {
            key: key.clone(),
            run: self.run,
            owner: r.contact.name.clone(),
            contact: r.contact.email.clone(),
            message_id: r.letter.message_id.clone(),
        })?;
        match self.smtp.send(&msg) {
            Ok(_) => {
                self.store.notice_sent(&key)?;
                done.sent += 1;
                Ok(None)
            }
            Err(e) => {
                // refused or never connected: not delivered, try again
                // on the next run
                self.store.notice_forget_unsent(&key)?;
                Ok(Some(mail_error(r, e)))
            }
        }
    }
}

/// Run `vigie notify`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let mut errors = Vec::new();
    let table = owner_table(&args, &mut errors)?;
    let (hosts, run) = hosts(&args, &mut errors)?;
    print_errors(&errors);
    let from = match (&args.from, args.send) {
        (Some(f), _) => f.as_str(),
        (None, false) => DRY_FROM,
        (None, true) => bail!("--send needs --from ADDRESS"),
    };
    let sender = vigie_mail::Sender::new(from, args.reply_to.as_deref())?;
    let mut mailer = match args.send {
        true => Some(Mailer::new(&args, run)?),
        false => None,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut index =
        String::from("owner,contact,servers,vulnerable,report\r\n");
    let mut any = false;
    let mut done = Sent::default();
    let mut failed = Vec::new();
    for (id, owner_hosts) in by_owner(&table, &hosts) {
        let Some(contact) = table.get(id) else { continue };
        let r = render(id, contact, &owner_hosts, run);
        any |= r.vulnerable > 0;
        if let Err(e) = write_files(&args.out, &r, &owner_hosts, &sender) {
            failed.push(e);
            continue;
        }
        let _ = write!(
            index,
            "\"{}\",\"{}\",{},{},{}.md\r\n",
            csv_safe(&r.contact.name).replace('"', "\"\""),
            csv_safe(&r.contact.email).replace('"', "\"\""),
            r.hosts,
            r.vulnerable,
            r.stem
        );
        if let Some(m) = &mut mailer
            && let Some(e) = m.send(&r, &sender, &mut done)?
        {
            print_errors(std::slice::from_ref(&e));
            failed.push(e);
        }
    }
    print_errors(&failed);
    std::fs::write(args.out.join("index.csv"), &index)?;
    eprintln!(
        "vigie: owner reports and .eml messages in {}",
        args.out.display()
    );
    summary(&args, mailer.is_some(), &done);
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, index.as_bytes())?;
    let item_errors = !errors.is_empty()
        || !failed.is_empty()
        || !done.unconfirmed.is_empty();
    Ok(Outcome::from_flags(any, item_errors))
}

fn summary(args: &Args, sending: bool, done: &Sent) {
    if !sending {
        if args.smtp.is_some() {
            eprintln!(
                "vigie: dry run: nothing mailed (add --send to mail the .eml messages)"
            );
        }
        return;
    }
    eprintln!(
        "vigie: mailed {} notice(s); {} sent before (skipped)",
        done.sent, done.already
    );
    if !done.unconfirmed.is_empty() {
        eprintln!(
            "vigie: {} notice(s) unconfirmed after an interrupted run, not \
             sent again (check the mail server's log; --resend-unconfirmed \
             sends them): {}",
            done.unconfirmed.len(),
            vigie_model::terminal_safe(&done.unconfirmed.join(", "))
        );
    }
}
