//! `shipdeck accessory ENV NAME start|stop|restart|logs`: one accessory of an environment,
//! under the environment's lock (but `logs`, which only reads). Answers with notices of what
//! it did, then the environment's accessories and processes.

use super::{environment, status, target, OperationError};
use crate::deploy::accessories::{self, AccessoryAction};
use crate::deploy::{lock, Operator};
use crate::engine::event::{Event, NoticeLevel};
use crate::engine::Engine;

pub async fn accessory(engine: &Engine, env: &str, name: &str, action: AccessoryAction) -> Vec<Event> {
    let failed = |why: String| {
        vec![Event::Notice {
            level: NoticeLevel::Error,
            message: why,
        }]
    };
    let env_config = match environment(engine.config.as_deref(), env) {
        Ok(e) => e.clone(),
        Err(why) => return failed(why.to_string()),
    };
    let app = engine.app_name();
    let target = match target(engine, &app, &env_config).await {
        Ok(t) => t,
        Err(why) => return failed(why.to_string()),
    };
    let held = match action {
        AccessoryAction::Logs => None,
        _ => {
            let operator = Operator::current(&engine.project.repo_root);
            let doing = format!("accessory {name} {action:?}").to_lowercase();
            match lock::acquire(&target, &operator, &doing).await {
                Ok(held) => Some(held),
                Err(e) => {
                    return failed(OperationError::refused(crate::deploy::Refusal::Locked, e.to_string()).to_string())
                }
            }
        }
    };
    // The secrets this accessory names (only those must be set), masked in all it answers.
    let wanted: &[String] = env_config
        .accessories
        .iter()
        .find(|a| a.service.name == name)
        .map_or(&[], |a| a.secrets.as_slice());
    let secrets = match engine.config.as_deref() {
        Some(config) => crate::deploy::secrets::named(config, &env_config, wanted, |v| std::env::var(v).ok()),
        None => Ok(Vec::new()),
    };
    let secrets = match secrets {
        Ok(s) => s,
        Err(why) => {
            if let Some(held) = held {
                held.release().await;
            }
            return failed(why);
        }
    };
    let masker = crate::mask::SecretMasker::new(secrets.iter().map(|(_, v)| v.clone()));
    let pairs: Vec<String> = secrets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let done = accessories::control(&target, name, action, &pairs)
        .await
        .map(|lines| lines.into_iter().map(|l| masker.mask(l)).collect::<Vec<_>>())
        .map_err(|why| masker.mask(why));
    if let Some(held) = held {
        held.release().await;
    }
    let mut out = match done {
        Ok(lines) if lines.is_empty() => vec![Event::Notice {
            level: NoticeLevel::Info,
            message: format!("accessory {name} of {env}: no output"),
        }],
        Ok(lines) => vec![Event::Notice {
            level: NoticeLevel::Info,
            message: lines.join("\n"),
        }],
        Err(why) => failed(why),
    };
    out.extend(status::environment_parts(&target).await);
    out
}
