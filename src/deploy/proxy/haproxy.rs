//! What shipdeck says to HAProxy and reads back from it: the configuration file of an
//! environment's proxy, the runtime API commands of a switch, and `show stat`.
//!
//! The backend `release` has two server slots, `a` and `b`. One serves; a switch points the
//! other at the new release (`set server release/b addr IP port P`), makes it ready and puts
//! the first in `drain` (no new requests; those it has finish), then in `maint` once it has no
//! session left. The runtime API changes the running process only, with no reload: kept-alive
//! client connections stay open and their next request goes to the new release. The file is
//! rewritten after each switch so that a restarted proxy comes back pointing at the same one.

/// Where the configuration lives inside the proxy container (see `fixtures/images/proxy-entrypoint.sh`).
pub const CONFIG_PATH: &str = "/etc/shipdeck-proxy/haproxy.cfg";
/// HAProxy's runtime API socket inside the proxy container.
pub const SOCKET: &str = "/run/haproxy/admin.sock";
/// The backend every request goes to.
pub const BACKEND: &str = "release";
pub const SLOTS: [&str; 2] = ["a", "b"];

/// A release as the proxy reaches it: its container's name (a DNS name on the environment's
/// network, for the configuration file) and address (for the runtime API), and its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub container: String,
    pub address: String,
    pub port: u16,
}

/// The configuration file: listening on `port`, `serving` in slot `slot` (by name, resolved
/// when HAProxy starts; a name that does not resolve leaves the slot down, answering 503).
pub fn config(port: u16, serving: Option<(&str, &Upstream)>) -> String {
    let mut servers = String::new();
    for slot in SLOTS {
        match serving {
            Some((s, up)) if s == slot => {
                servers.push_str(&format!("    server {slot} {}:{}\n", up.container, up.port));
            }
            _ => servers.push_str(&format!("    server {slot} 127.0.0.1:1 disabled\n")),
        }
    }
    format!(
        "# Written by shipdeck: the proxy of one environment. shipdeck moves traffic through the
# runtime API ({SOCKET}) and rewrites this file after each switch.
global
    stats socket {SOCKET} mode 600 level admin
    log stdout format raw local0 notice
    maxconn 4096
defaults
    mode http
    log global
    option forwardfor
    option redispatch
    retries 3
    timeout connect 5s
    timeout client 60s
    timeout server 300s
    timeout http-keep-alive 15s
    default-server init-addr last,libc,none
frontend web
    bind :{port}
    default_backend {BACKEND}
backend {BACKEND}
{servers}"
    )
}

/// One server slot, from `show stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotStat {
    pub slot: String,
    /// `UP`, `no check`, `DRAIN`, `MAINT`, `MAINT (resolution)`, `DOWN`…
    pub status: String,
    /// Sessions on it now: requests in flight.
    pub sessions: u64,
    /// `IP:port`.
    pub addr: String,
}

impl SlotStat {
    /// Whether new requests go to it.
    pub fn serving(&self) -> bool {
        !(self.status.starts_with("MAINT") || self.status.starts_with("DRAIN") || self.status.starts_with("DOWN"))
    }

    /// The address without the port.
    pub fn ip(&self) -> &str {
        self.addr.rsplit_once(':').map_or(self.addr.as_str(), |(ip, _)| ip)
    }
}

/// The slots of the backend in `show stat` CSV; columns found by the header's names.
pub fn parse_stat(csv: &str) -> Vec<SlotStat> {
    let mut lines = csv.lines();
    let Some(header) = lines.find(|l| l.starts_with("# ")) else {
        return Vec::new();
    };
    let names: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let col = |name: &str| names.iter().position(|n| *n == name);
    let (Some(px), Some(sv), Some(status), Some(scur), Some(addr)) =
        (col("pxname"), col("svname"), col("status"), col("scur"), col("addr"))
    else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let slot = *fields.get(sv)?;
            if *fields.get(px)? != BACKEND || !SLOTS.contains(&slot) {
                return None;
            }
            Some(SlotStat {
                slot: slot.to_string(),
                status: fields.get(status)?.to_string(),
                sessions: fields.get(scur)?.parse().unwrap_or(0),
                addr: fields.get(addr)?.to_string(),
            })
        })
        .collect()
}

/// The runtime API commands that send new requests to `to` in slot `slot` and drain `from`.
pub fn switch_commands(slot: &str, to: &Upstream, from: Option<&str>) -> String {
    let mut cmds = format!(
        "set server {BACKEND}/{slot} addr {} port {}; set server {BACKEND}/{slot} state ready",
        to.address, to.port
    );
    if let Some(old) = from.filter(|o| *o != slot) {
        cmds.push_str(&format!("; set server {BACKEND}/{old} state drain"));
    }
    cmds
}

/// The slot a switch uses: the one not serving (`a` when neither does).
pub fn free_slot(stats: &[SlotStat]) -> &'static str {
    match stats.iter().find(|s| s.serving()).map(|s| s.slot.as_str()) {
        Some("a") => "b",
        _ => "a",
    }
}

/// Whether the runtime API refused a command: HAProxy answers errors in words, exit code 0.
pub fn refused(answer: &str) -> Option<&str> {
    answer.lines().map(str::trim).find(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("unknown") || l.contains("no such") || l.contains("invalid") || l.contains("require")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo
web,FRONTEND,,,0,0,9985,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,
release,a,0,0,2,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,,,1,,,1,3,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,172.18.0.3:8080,,http,
release,b,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,1,,,1,3,2,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,172.18.0.4:8080,,http,
release,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,0,1,1,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin
";

    #[test]
    fn reads_the_slots_by_column_name() {
        let stats = parse_stat(STAT);
        assert_eq!(stats.len(), 2);
        assert_eq!(stats[0].slot, "a");
        assert_eq!(stats[0].sessions, 2);
        assert!(!stats[0].serving());
        assert!(stats[1].serving());
        assert_eq!(stats[1].ip(), "172.18.0.4");
        assert_eq!(free_slot(&stats), "a");
        assert!(parse_stat("garbage\n").is_empty());
    }

    #[test]
    fn a_switch_readies_the_new_slot_before_draining_the_old() {
        let up = Upstream {
            container: "app-web".into(),
            address: "172.18.0.5".into(),
            port: 8080,
        };
        assert_eq!(
            switch_commands("b", &up, Some("a")),
            "set server release/b addr 172.18.0.5 port 8080; set server release/b state ready; set server release/a state drain"
        );
        assert!(!switch_commands("a", &up, None).contains("drain"));
        let file = config(8080, Some(("b", &up)));
        assert!(file.contains("server b app-web:8080\n"));
        assert!(file.contains("server a 127.0.0.1:1 disabled\n"));
        assert!(file.contains("bind :8080\n"));
    }

    #[test]
    fn errors_in_words_are_refusals() {
        assert!(refused("No such server.\n").is_some());
        assert!(refused("Unknown command. Please enter one of the following commands only :").is_some());
        assert!(refused("IP changed from '127.0.0.1' to '172.18.0.5' by 'stats socket command'\n\n").is_none());
    }
}
