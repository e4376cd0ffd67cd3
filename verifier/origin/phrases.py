"""The origin analysis's sentences (counting rule, classification reasons, warnings, paths not
scanned) with their Chinese, for the Chinese report (``verifier.phrases``).

The English templates mirror what ``verifier.origin`` writes; ``tests/test_report_zh.py`` checks
that every sentence of a real analysis finds its phrase, so a sentence changed there without its
translation here fails a test instead of reaching a Chinese report in English.
"""

from __future__ import annotations

from verifier.phrases import Translator
from verifier.probe import Phrase

#: The counting rule (``verifier.origin.inventory.counting_rule``); ``{minified}`` is
#: ``verifier.origin.minified.RULE``.
COUNTING_RULE = Phrase(
    "effective lines = {counter} code + string lines of each source file: a line counts when it holds "
    "a token that is neither comment nor white space; blank lines, comment-only lines and Python "
    "docstrings are not counted, nor lines holding only brackets and separators ( ) , : ; [ ] {{ }} or a "
    "lone pass/begin/end/@; preprocessor lines count. Source files are those pygments has a lexer for "
    "that are not documentation or data, and scripts whose #! line names an interpreter; docs (md, rst, "
    "txt, pdf, docx …), data (json, yaml, xml, csv, toml, ini, lock files …), images and binaries are "
    "inventoried with 0 lines: a known binary suffix, or first 8 KiB that start with a binary format's "
    "signature or hold at least {control} control bytes (NUL and others, not tab, line breaks, form feed "
    "or escape); for docs and data a NUL byte there is enough. Text is decoded by its BOM, else as UTF-16 "
    "when its NUL bytes fall in every other position, else as UTF-8, else by a declared coding, else "
    "GB18030 (GBK/GB2312) — or Big5 (cp950) when that decodes too and more of its double-byte characters "
    "fall in Big5's common rows than in GB2312's — else Windows-1252, else as UTF-8 with at most 0.5% "
    "invalid bytes replaced. Before any lexing, {minified}. Source files over {limit} MiB are counted in "
    "pieces of at most {piece} MiB, each cut after a line that is a closing brace in column 0 or after a "
    "blank line followed by a line starting in column 0 with a letter (else at a line end), and the "
    "pieces' counts summed. Counting one file may take at most {timeout} s (the per-file timeout). A "
    "source file that cannot be counted (undecodable, the counter failed or did not finish in that time, "
    "UTF-16/32 text over the limit) is 'unknown' and weighs its non-blank physical lines; a source file "
    "(or a file without a known kind, which could be a script) that cannot be read is 'unknown' and "
    "weighs ⌈bytes ÷ 2⌉ lines, the most non-blank lines its size can hold, so the ratio is never higher "
    "than reading it could make it",
    "有效代码行 = {counter} 统计的每个源文件的代码行与字符串行：含有既非注释也非空白的记号的行计入；"
    "空行、纯注释行、Python 文档字符串不计入，只含括号与分隔符 ( ) , : ; [ ] {{ }} 或单独的 "
    "pass/begin/end/@ 的行也不计入；预处理行计入。源文件指 pygments 有词法分析器、且不属于文档或数据的文件，"
    "以及 #! 行指明解释器的脚本；文档（md、rst、txt、pdf、docx 等）、数据（json、yaml、xml、csv、toml、ini、"
    "锁文件等）、图片与二进制文件登记为 0 行：依据已知的二进制后缀，或文件前 8 KiB 以二进制格式签名开头、"
    "或控制字节（NUL 等，不含制表符、换行、换页、转义）占 {control} 以上；文档与数据文件在此范围内含一个 NUL "
    "字节即可。文本解码顺序：BOM；NUL 字节隔位出现时按 UTF-16；UTF-8；文件声明的编码；GB18030（GBK/GB2312）"
    "——若同时可按 Big5（cp950）解码且其双字节字符更多落在 Big5 常用区，则按 Big5；Windows-1252；最后按 UTF-8 "
    "并替换至多 0.5% 的无效字节。词法分析之前：{minified}。超过 {limit} MiB 的源文件分段统计，每段至多 "
    "{piece} MiB，在第 0 列的右花括号行之后、或在空行后接第 0 列字母开头的行之前切分（否则在行尾切分），"
    "各段计数相加。统计单个文件至多用时 {timeout} 秒（单文件超时）。无法统计的源文件（无法解码、统计工具失败或"
    "超时、超限的 UTF-16/32 文本）判为“未判定”，按其非空物理行计重；无法读取的源文件（或类型未知、可能是脚本的"
    "文件）判为“未判定”，按 ⌈字节数 ÷ 2⌉ 行计重，即其大小所能容纳的最多非空行数，因此自研代码率绝不会因无法"
    "读取而偏高")

MINIFIED_RULE = Phrase(
    "a source file with a minified/bundled name (*.min.js, *-min.css, *.bundle.js, *.packed.js, "
    "*.prod.js), or whose first {sample} MiB has non-blank lines of {mean} bytes or more on average, or, "
    "in a web language (JavaScript, TypeScript, CSS, HTML, Vue …), a line of {longest} characters or "
    "more, is a minified or bundled asset: it is not lexed and weighs its non-blank physical lines",
    "文件名表明经压缩/打包（*.min.js、*-min.css、*.bundle.js、*.packed.js、*.prod.js）的源文件，或前 {sample} MiB "
    "中非空行平均长度达 {mean} 字节的源文件，或 Web 语言（JavaScript、TypeScript、CSS、HTML、Vue 等）中有一行"
    "达 {longest} 个字符的源文件，视为压缩或打包资源：不做词法分析，按其非空物理行计重")

#: Why a file has its origin (``FileOrigin.reason``), and the reasons of vendored components.
REASONS: tuple[Phrase, ...] = (
    Phrase("{reason}; not counted ({kind} file, 0 lines)", "{reason}；不计入（{kind}文件，0 行）"),
    Phrase("declared {origin} ({source} {key}: {pattern})", "声明为{origin}（{source} {key}: {pattern}）"),
    Phrase("not counted: {kind} file ({problem})", "不计入：{kind}文件（{problem}）"),
    Phrase("not counted: {kind} file", "不计入：{kind}文件"),
    Phrase("part of component {component} ({license}): {reason}", "属于组件 {component}（{license}）：{reason}"),
    Phrase("not counted or read: {problem}; weighs its {lines} non-blank lines; not counted as self",
           "未能统计或读取：{problem}；按 {lines} 个非空行计重；不计为自研"),
    Phrase("not counted or read: {problem}; not counted as self", "未能统计或读取：{problem}；不计为自研"),
    Phrase("notice detection did not finish ({why}); not counted as self", "声明检测未完成（{why}）；不计为自研"),
    Phrase("modified third-party: owner {owner} beside foreign holder {holder}",
           "修改过的第三方代码：著作权人 {owner} 与外部权利人 {holder} 并列"),
    Phrase("copyright notice of {holder}, not an owner", "{holder} 的版权声明，不是本项目著作权人"),
    Phrase("owner's copyright notice ({owner})", "著作权人本人的版权声明（{owner}）"),
    Phrase("license notice {licenses} with no owner named, not the owner's own license",
           "许可证声明 {licenses}，未写明著作权人，且不是著作权人自己的许可证"),
    Phrase("license notice {license} is the owner's own license (root license file or manifest)",
           "许可证声明 {license} 是著作权人自己的许可证（根目录许可证文件或清单）"),
    Phrase("lock file {name}", "锁文件 {name}"),
    Phrase("generated-code file name {name}", "生成代码的文件名 {name}"),
    Phrase("line {line}: generated-code marker {marker}", "第 {line} 行：生成代码标记 {marker}"),
    Phrase("{rule} (not lexed; weighs its {lines} non-blank lines)", "{rule}（未做词法分析；按 {lines} 个非空行计重）"),
    Phrase("minified/bundled asset name {name}", "压缩/打包资源的文件名 {name}"),
    Phrase("mean line length {mean} ≥ {limit}: minified or bundled", "平均行长 {mean} ≥ {limit}：压缩或打包资源"),
    Phrase("a {length}-character line in a {language} file: minified or bundled",
           "{language} 文件中有一行长 {length} 个字符：压缩或打包资源"),
    Phrase("self-developed: {scope}, not generated, not in a component", "自研：{scope}，非生成代码，不属于任何组件"),
    Phrase("own license/manifest naming a holder that is not an owner: {holder}",
           "自带许可证/清单，写明的权利人不是本项目著作权人：{holder}"),
    Phrase("own license/manifest with license {licenses}, no owner named",
           "自带许可证/清单，许可证为 {licenses}，未写明著作权人"),
    Phrase("inside the conventional vendor directory {vendor}", "位于惯用的第三方目录 {vendor} 中"),
    Phrase("manual adjudication by {reviewer} on {date}: {justification} (tools said {origin}: {reason})",
           "{reviewer} 于 {date} 人工裁定：{justification}（工具判定为 {origin}：{reason}）"),
)

#: The analysis's warnings and why a path was not scanned.
WARNINGS: tuple[Phrase, ...] = (
    Phrase("NO OWNERS DECLARED: every copyright holder is treated as foreign, so files under your own "
           "copyright notice count as third-party. Declare project.owners in the spec or pass --owner NAME.",
           "未声明著作权人：所有版权人都被视为外部，带有本单位版权声明的文件也会计为第三方。请在任务书中声明 "
           "project.owners，或使用 --owner NAME。"),
    Phrase("{count} file(s) ({lines} lines) are unknown (detection did not finish or the file could not be "
           "read); they are not counted as self-developed: {paths}",
           "{count} 个文件（{lines} 行）来源未判定（检测未完成或文件不可读），不计为自研：{paths}"),
    Phrase("stale adjudication for {target}: {reason}; not applied", "{target} 的人工裁定已失效：{reason}；未采用"),
    Phrase("{count} path(s) ignored by git not scanned (e.g. {paths}); see 'skipped', --include-ignored scans them",
           "{count} 个被 git 忽略的路径未扫描（例如 {paths}）；见 skipped，--include-ignored 可扫描"),
    Phrase("{count} version-control metadata path(s) not scanned ({paths}); see 'skipped'",
           "{count} 个版本控制元数据路径未扫描（{paths}）；见 skipped"),
    Phrase("{count} path(s) not inventoried (links, special files, unreadable); see 'skipped'",
           "{count} 个路径未登记（链接、特殊文件、不可读）；见 skipped"),
    Phrase("PATH is a sub-directory of the git working tree {top}", "被测路径是 git 工作树 {top} 的子目录"),
    Phrase("the git repository has no commit yet", "git 仓库尚无提交"),
    Phrase("files git ignores are scanned too", "git 忽略的文件也已扫描"),
    Phrase("ignored by git (.gitignore or exclude file) and not tracked: not part of the committed delivery; "
           "--include-ignored scans it",
           "被 git 忽略（.gitignore 或 exclude 文件）且未纳入版本管理：不属于已提交的交付物；--include-ignored 可扫描"),
    Phrase("version-control metadata ({what}), not part of the delivered files; not scanned",
           "版本控制元数据（{what}），不属于交付文件；未扫描"),
    Phrase("symbolic link to {target} ({where} the tree{state}), not followed",
           "指向 {target} 的符号链接（{where}{state}），未跟随"),
    Phrase("symbolic link (unreadable: {why}), not followed", "符号链接（不可读：{why}），未跟随"),
    Phrase("special file ({what}), not read", "特殊文件（{what}），未读取"),
    Phrase("unreadable directory: {why}; what it holds cannot be seen or weighed",
           "不可读的目录：{why}；其中内容无法查看，也无法计重"),
    Phrase("unreadable: {why}; what it is cannot be seen or weighed", "不可读：{why}；无法查看其为何物，也无法计重"),
    Phrase("unreadable directory: {why}", "不可读的目录：{why}"),
    Phrase("unreadable: {why}", "不可读：{why}"),
    Phrase("{count} path(s) could not be read and have no size to weigh; the code they may hold is not in "
           "the ratio, which therefore cannot be proven (make them readable and scan again): {paths}",
           "{count} 个路径无法读取，也没有可用于计重的大小；其中可能含有的代码未计入自研代码率，因此该比率无法"
           "证实（请使其可读后重新扫描）：{paths}"),
)

_WORDS = {
    "kind": {"doc": "文档", "data": "数据", "image": "图片", "binary": "二进制", "other": "其他", "source": "源"},
    "origin": {"excluded": "排除", "third-party": "第三方", "generated": "生成", "self": "自研",
               "third_party": "第三方", "unknown": "未判定"},
    "source": {"spec": "任务书", "option": "命令行选项"},
    "where": {"inside": "树内", "outside": "树外"},
    "state": {"": "", ", dangling": "，目标不存在", ", a loop": "，构成循环"},
    "scope": {"no license or copyright keyword in the head": "文件开头没有许可证或版权关键词",
              "no notice found in the head": "文件开头未发现声明", "no notice found": "未发现声明"},
}

#: Chinese for everything the origin analysis writes (reasons nest: a field named ``reason`` or
#: ``minified`` is itself translated).
ORIGIN = Translator((COUNTING_RULE, MINIFIED_RULE, *REASONS, *WARNINGS), _WORDS,
                    nested=frozenset({"reason", "minified", "rule"}))
