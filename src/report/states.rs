//! The states table of `keyhier blast`: who still decrypts the largest
//! tenant's data when roots are lost, revoked by the customer or leaked.
//! Rows in, Markdown out.

use std::fmt::Write;

use crate::analysis::states::StateRow;

/// The states table as Markdown.
pub fn states_markdown(rows: &[StateRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Lost, revoked by the customer, leaked: who still decrypts the largest tenant's data\n"
    );
    let _ = writeln!(
        s,
        "Shares of the largest tenant's leaves, with every key of the roots above them in that state. Users read through the service; the provider's services decrypt on their own (indexing, mailbox moves); on request: in a recovery the customer asks for.\n"
    );
    let _ = writeln!(
        s,
        "| design | roots | state | users | provider services | provider on request | attacker | note |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---|");
    let cell = |x: Option<f64>| x.map_or_else(|| "n/a".to_owned(), pct);
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.design,
            r.roles,
            r.state.name(),
            cell(r.users),
            cell(r.provider_services),
            cell(r.provider_on_request),
            cell(r.attacker),
            r.note
        );
    }
    s
}

/// A share as a percentage with one decimal (`12.5%`).
pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}
