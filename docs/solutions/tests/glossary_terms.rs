//! The book's glossary (`docs/src/glossary.md`) must keep every term that the five Chinese
//! tutorials use (issue 13), so a student who learned a word there finds it in the book.
//! The list is the tutorials' own words; a term that is dropped from the glossary by
//! mistake fails this test, with the names of the missing terms.

/// The glossary, as the book shows it.
const GLOSSARY: &str = include_str!("../../src/glossary.md");

/// Chinese terms from the tutorials, each of which needs a row in the glossary.
const TUTORIAL_TERMS: &[&str] = &[
    // Programs and tools the tutorials run.
    "飞鸽传书",
    "飞秋",
    "网络调试助手",
    "抓包",
    // Hardware, and the layers.
    "网卡",
    "集线器",
    "交换机",
    "路由器",
    "应用层",
    "表示层",
    "会话层",
    "传输层",
    "网络层",
    "数据链路层",
    "物理层",
    // Addresses and ports.
    "IP 地址",
    "MAC 地址",
    "子网掩码",
    "网段",
    "网络号",
    "主机号",
    "私有地址",
    "公网 IP",
    "广播",
    "广播风暴",
    "单播",
    "知名端口",
    "动态端口",
    // Sockets.
    "套接字",
    "流式套接字",
    "数据报套接字",
    "原始套接字",
    "回射服务器",
    "编码",
    "解码",
    // TCP.
    "三次握手",
    "四次挥手",
    "半打开",
    "半关闭",
    "长连接",
    "短连接",
    "去重",
    "乱序",
    "累积确认",
    "粘包",
    // UDP and TFTP.
    "全双工",
    "半双工",
    "单工",
    "操作码",
    "块编号",
    "简单文件传输协议",
];

/// The Chinese column of every row of the glossary's table.
fn chinese_column() -> Vec<&'static str> {
    GLOSSARY
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| term "))
        .filter_map(|line| line.split('|').nth(2))
        .map(str::trim)
        .collect()
}

#[test]
fn the_glossary_has_every_term_the_tutorials_use() {
    let column = chinese_column();
    let missing: Vec<&str> = TUTORIAL_TERMS
        .iter()
        .copied()
        .filter(|term| !column.iter().any(|cell| cell.contains(term)))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/src/glossary.md has no row for these tutorial terms: {missing:?}"
    );
}

#[test]
fn the_table_is_read_as_the_book_shows_it() {
    // Guards the parser above: a change of table layout must not make every term "found".
    let column = chinese_column();
    assert!(column.len() > 100, "only {} rows read", column.len());
    assert!(column.contains(&"套接字"));
    assert!(!column.iter().any(|cell| cell.contains("meaning")));
}
