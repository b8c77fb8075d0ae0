//! `--purpose` checked before any request: a typo (`fine_tune`) is caught with a suggestion;
//! `--allow-unknown-purpose` sends a value this version does not know as given.

use uploads_ext::Purpose;

use crate::failure::Failure;

/// The purposes the spec lists, as sent on the wire: read from the generated enum
/// ([`Purpose::KNOWN`]), so a purpose added upstream reaches the CLI with the regeneration.
pub fn known() -> impl Iterator<Item = &'static str> {
    Purpose::KNOWN.iter().map(Purpose::as_str)
}

/// The `--purpose` help, naming every known purpose.
pub fn help() -> String {
    format!(
        "What the file is for: {} (a typo is refused before any request, with a suggestion)",
        known().collect::<Vec<_>>().join(", ")
    )
}

/// Accepts a known purpose, or any with `allow_unknown`; otherwise explains, with the closest
/// known purpose when there is one.
pub fn check(purpose: &str, allow_unknown: bool) -> Result<(), Failure> {
    if known().any(|k| k == purpose) || allow_unknown {
        return Ok(());
    }
    let message = match closest(purpose) {
        Some(known) => format!("unknown purpose {purpose:?}: did you mean {known}?"),
        None => format!("unknown purpose {purpose:?}"),
    };
    Err(Failure::invalid_input(message)
        .with_hint(format!(
            "known purposes: {}",
            known().collect::<Vec<_>>().join(", ")
        ))
        .with_hint("to send a purpose this version does not know, add --allow-unknown-purpose"))
}

/// The known purpose `purpose` most likely meant: the same once case and separators are
/// ignored, or within two edits.
fn closest(purpose: &str) -> Option<&'static str> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let wanted = squash(purpose);
    known()
        .map(|k| (strsim::levenshtein(&squash(k), &wanted), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_list_is_the_generated_enum() {
        let known: Vec<_> = known().collect();
        assert_eq!(known.len(), Purpose::KNOWN.len());
        assert!(known.contains(&"fine-tune") && known.contains(&"batch"));
        assert!(known
            .iter()
            .all(|k| k.parse::<Purpose>().unwrap().is_known()));
        assert!(check("fine_tune", false).is_err());
    }

    #[test]
    fn the_purpose_help_names_every_known_purpose() {
        use clap::CommandFactory;
        let cli = crate::args::Cli::command();
        let upload = cli.find_subcommand("upload").unwrap();
        let purpose = upload
            .get_arguments()
            .find(|a| a.get_id() == "purpose")
            .unwrap();
        let help = purpose.get_help().unwrap().to_string();
        for known in known() {
            assert!(help.contains(known), "{known} missing from {help:?}");
        }
    }

    #[test]
    fn typos_get_a_suggestion_and_strangers_do_not() {
        for (typo, meant) in [
            ("fine_tune", "fine-tune"),
            ("finetune", "fine-tune"),
            ("Fine-Tune", "fine-tune"),
            ("asistants", "assistants"),
            ("user-data", "user_data"),
            ("bach", "batch"),
        ] {
            let err = check(typo, false).unwrap_err();
            assert_eq!(
                err.message,
                format!("unknown purpose {typo:?}: did you mean {meant}?")
            );
            assert_eq!(err.exit_code, crate::failure::EXIT_INVALID_INPUT);
        }
        let err = check("embeddings", false).unwrap_err();
        assert_eq!(err.message, "unknown purpose \"embeddings\"");
        assert!(check("embeddings", true).is_ok());
        assert!(check("fine-tune", false).is_ok());
    }
}
