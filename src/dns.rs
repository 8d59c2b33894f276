//! One DNS question, `NS DOMAIN`, asked of the machine's resolver: what the world sees as the domain's
//! name servers, i.e. the registrar's delegation. Used by `doctor`; a few dozen lines spare a resolver
//! crate for one query.

use anyhow::{bail, Context as _, Result};
use std::net::SocketAddr;
use std::time::Duration;

const TYPE_NS: u16 = 2;
const CLASS_IN: u16 = 1;
/// A recursive resolver answers in milliseconds; past this, doctor reports the lookup as failed.
const ANSWER_WAIT: Duration = Duration::from_secs(3);

/// The resolver: `DEPLOYER_DNS_RESOLVER` (HOST:PORT), else the first `nameserver` of /etc/resolv.conf.
pub fn resolver() -> Result<SocketAddr> {
    if let Ok(given) = std::env::var("DEPLOYER_DNS_RESOLVER") {
        return given.parse().with_context(|| format!("DEPLOYER_DNS_RESOLVER={given} is not IP:PORT"));
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").context("reading /etc/resolv.conf")?;
    let server = conf.lines().find_map(|l| l.trim().strip_prefix("nameserver")).map(str::trim);
    let server = server.context("/etc/resolv.conf names no nameserver: set DEPLOYER_DNS_RESOLVER=IP:53")?;
    let ip: std::net::IpAddr = server.parse().with_context(|| format!("nameserver {server} is not an IP"))?;
    Ok(SocketAddr::new(ip, 53))
}

/// The answer to `NS domain`: `Ok(None)` when the name does not exist (NXDOMAIN), else its name
/// servers, lowercase, without the final dot.
pub async fn name_servers(domain: &str, resolver: SocketAddr) -> Result<Option<Vec<String>>> {
    let bind: SocketAddr = if resolver.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse()?;
    let socket = tokio::net::UdpSocket::bind(bind).await.context("opening a UDP socket for DNS")?;
    let id = (std::process::id() & 0xffff) as u16;
    socket.send_to(&query(id, domain), resolver).await.with_context(|| format!("asking {resolver}"))?;
    let mut buffer = [0u8; 4096];
    let received = tokio::time::timeout(ANSWER_WAIT, socket.recv_from(&mut buffer)).await;
    let (length, _) = received.with_context(|| format!("{resolver} did not answer within 3 s"))??;
    parse_answer(id, &buffer[..length])
}

fn query(id: u16, domain: &str) -> Vec<u8> {
    let mut packet = Vec::with_capacity(32 + domain.len());
    packet.extend(id.to_be_bytes());
    packet.extend([0x01, 0x00]); // a standard query, recursion desired
    packet.extend([0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in domain.trim_end_matches('.').split('.') {
        packet.push(label.len() as u8);
        packet.extend(label.as_bytes());
    }
    packet.push(0);
    packet.extend(TYPE_NS.to_be_bytes());
    packet.extend(CLASS_IN.to_be_bytes());
    packet
}

fn parse_answer(id: u16, packet: &[u8]) -> Result<Option<Vec<String>>> {
    let u16_at = |at: usize| -> Result<u16> {
        let bytes = packet.get(at..at + 2).context("a truncated DNS answer")?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    };
    if u16_at(0)? != id {
        bail!("a DNS answer to another question");
    }
    match u16_at(2)? & 0x000f {
        0 => {}
        3 => return Ok(None),
        code => bail!("the resolver answered with error code {code}"),
    }
    let (questions, answers) = (u16_at(4)?, u16_at(6)?);
    let mut at = 12;
    for _ in 0..questions {
        at = read_name(packet, at)?.1 + 4;
    }
    let mut servers = Vec::new();
    for _ in 0..answers {
        let (_, after_name) = read_name(packet, at)?;
        let (kind, length) = (u16_at(after_name)?, usize::from(u16_at(after_name + 8)?));
        let data = after_name + 10;
        if kind == TYPE_NS {
            servers.push(read_name(packet, data)?.0.to_ascii_lowercase());
        }
        at = data + length;
    }
    Ok(Some(servers))
}

/// The name at `at` (following compression pointers) and the offset just past it.
fn read_name(packet: &[u8], mut at: usize) -> Result<(String, usize)> {
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let length = *packet.get(at).context("a truncated DNS name")?;
        match length {
            0 => return Ok((labels.join("."), end.unwrap_or(at + 1))),
            l if l & 0xc0 == 0xc0 => {
                let low = *packet.get(at + 1).context("a truncated DNS pointer")?;
                end.get_or_insert(at + 2);
                at = usize::from(l & 0x3f) << 8 | usize::from(low);
            }
            l => {
                let label = packet.get(at + 1..at + 1 + usize::from(l)).context("a truncated DNS label")?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                at += 1 + usize::from(l);
            }
        }
    }
    bail!("a DNS name that loops")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer as resolvers send it: the question, then NS records whose names point back into it.
    fn answer(id: u16, rcode: u8, servers: &[&str]) -> Vec<u8> {
        let mut packet = query(id, "example.com");
        packet[2] = 0x81;
        packet[3] = 0x80 | rcode;
        packet[7] = servers.len() as u8;
        for server in servers {
            let (host, rest) = server.split_once('.').unwrap();
            let mut data = vec![host.len() as u8];
            data.extend(host.as_bytes());
            if rest == "example.com" {
                data.extend([0xc0, 12]); // "example.com" is at offset 12, in the question
            } else {
                for label in rest.split('.') {
                    data.push(label.len() as u8);
                    data.extend(label.as_bytes());
                }
                data.push(0);
            }
            packet.extend([0xc0, 12]);
            packet.extend(TYPE_NS.to_be_bytes());
            packet.extend(CLASS_IN.to_be_bytes());
            packet.extend(300u32.to_be_bytes());
            packet.extend((data.len() as u16).to_be_bytes());
            packet.extend(data);
        }
        packet
    }

    #[test]
    fn name_servers_are_read_with_compressed_names() {
        let packet = answer(7, 0, &["NS-1.awsdns-01.org", "ns1.example.com"]);
        let servers = parse_answer(7, &packet).unwrap().unwrap();
        assert_eq!(servers, vec!["ns-1.awsdns-01.org", "ns1.example.com"]);
    }

    #[test]
    fn nxdomain_is_none_and_a_foreign_or_broken_answer_is_an_error() {
        assert_eq!(parse_answer(7, &answer(7, 3, &[])).unwrap(), None);
        assert!(parse_answer(8, &answer(7, 0, &["ns1.example.com"])).is_err());
        let packet = answer(7, 0, &["ns1.example.net"]);
        assert!(parse_answer(7, &packet[..packet.len() - 3]).is_err());
        let mut looping = query(7, "example.com");
        looping[12] = 0xc0;
        looping[13] = 12;
        assert!(read_name(&looping, 12).is_err());
    }
}
