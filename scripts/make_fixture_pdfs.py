"""Regenerate the acceptance-dossier PDFs of fixtures/sample-delivery (or of another fixture).

The documents are fictional samples (marked as such on every page) that give the
materials checklist real PDF files to find, count and hash. Run from the repository
root:  .venv/bin/python scripts/make_fixture_pdfs.py [sample-delivery | node-delivery]
"""

from __future__ import annotations

import html
import sys
import tempfile
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection
from weasyprint import CSS as WeasyCSS
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
OUT = FIXTURES / "sample-delivery" / "docs" / "acceptance"
PRODUCT = "智能仓储调度系统（库存服务）V1.0.0"
APPLICANT = "湖南示例软件有限公司"
MAX_BYTES = 30 * 1024
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_NUMBER = 2  # Noto Sans CJK SC inside the collection

CSS = """
@page { size: A4; margin: 18mm 16mm;
        @bottom-center { content: "样例文件 · 仅供 verifier 测试使用 · 第 " counter(page) " 页"; font-size: 8pt; color: #888; } }
* { font-family: "FixtureCJK"; font-weight: normal; font-synthesis: none; }
body { font-size: 10.5pt; line-height: 1.5; color: #222; }
h1 { font-size: 17pt; letter-spacing: 1pt; text-align: center; margin: 0 0 4mm; }
h2 { font-size: 12pt; border-bottom: 1px solid #999; margin-top: 6mm; }
.sample { text-align: center; color: #b42318; border: 1px solid #b42318; padding: 1mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 1px solid #777; padding: 1mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; }
.meta td:first-child { width: 30%; background: #f6f6f6; }
.sign { margin-top: 10mm; }
"""

FUNCTIONS = [
    ("F-01", "入库登记", "登记新货品（编码、名称、数量），拒绝重复编码。"),
    ("F-02", "库存列表查询", "列出全部货品。"),
    ("F-03", "货品详情查询", "按编号查询货品。"),
    ("F-04", "出入库调整", "按数量调整库存并记录流水。"),
    ("F-05", "超量出库拦截", "出库超过库存时拒绝，库存不变。"),
    ("F-06", "服务健康检查与请求防护", "健康检查；错误请求返回 4xx。"),
]


def _table(headers, rows, cls=""):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _meta(rows):
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="meta"><tbody>{body}</tbody></table>'


def _page(title, date, parts):
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><meta name="author" content="{html.escape(APPLICANT)}">
<meta name="dcterms.created" content="{date}"><meta name="dcterms.modified" content="{date}">
<style>{CSS}</style></head><body><p class="sample">样例文件（虚构）— 仅用于 verifier 测试夹具，不是真实的验收材料</p>
<h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>"""


def _para(text):
    return f"<p>{html.escape(text)}</p>"


def _h2(text):
    return f"<h2>{html.escape(text)}</h2>"


def _signature(*roles):
    return '<p class="sign">' + "　　".join(f"{html.escape(r)}：________" for r in roles) + "</p>"


def documents():
    """Map each output file name to (title, date, HTML parts)."""
    docs = {}
    docs["test-report.pdf"] = ("软件产品测试报告", "2026-03-20", [
        _meta([("产品名称", PRODUCT), ("委托单位", APPLICANT), ("报告编号", "HNST-2026-S-0042"),
               ("测试依据", "GB/T 25000.51-2016"), ("测试日期", "2026-03-09 至 2026-03-18")]),
        _h2("一、测试结论"),
        _para("被测软件的功能性、性能效率、兼容性、可靠性、安全性满足任务书要求。"),
        _h2("二、测试结果汇总"),
        _table(["质量特性", "指标", "要求", "测试结果", "结论"], [
            ("功能性", "功能测试用例通过率", "≥ 95%", "100%（51/51）", "符合"),
            ("性能效率", "50 并发下 95% 响应时间", "≤ 500 ms", "38 ms", "符合"),
            ("可靠性", "强制终止后数据丢失条数", "= 0", "0", "符合"),
            ("安全性", "高危安全缺陷", "= 0", "0", "符合"),
            ("兼容性", "Python 3.11 / 3.12 运行通过率", "= 100%", "100%", "符合"),
        ]),
        _signature("编制", "审核", "批准"),
    ])
    docs["function-list.pdf"] = ("产品功能清单", "2026-03-01", [
        _meta([("产品名称", PRODUCT), ("申报单位", APPLICANT)]),
        _table(["编号", "功能名称", "功能说明"], FUNCTIONS),
        _signature("编制", "审核"),
    ])
    docs["novelty-search.pdf"] = ("科技查新报告", "2026-02-10", [
        _meta([("查新项目", PRODUCT), ("委托人", APPLICANT), ("查新机构", "湖南示例科技信息研究所（虚构）"),
               ("报告编号", "CX-2026-0117"), ("检索范围", "中文期刊、专利、科技成果库（2016–2026）")]),
        _h2("查新点"),
        _para("基于库存流水的出入库一致性保障：写操作在应答前落盘提交，超量出库原子拦截。"),
        _h2("查新结论"),
        _para("在检索范围内，未见与查新点完全相同的公开报道。"),
        _signature("查新员", "审核员"),
    ])
    docs["audit-report.pdf"] = ("项目资金专项审计报告", "2026-03-25", [
        _meta([("被审计单位", APPLICANT), ("审计项目", PRODUCT + " 省级重点软件项目资金"),
               ("报告编号", "SJ-2026-088"), ("审计机构", "湖南示例会计师事务所（虚构）")]),
        _table(["科目", "预算（万元）", "实际支出（万元）"], [
            ("设备费", "20.0", "18.6"), ("材料费", "5.0", "4.2"), ("测试化验加工费", "8.0", "7.9"),
            ("劳务费", "60.0", "61.3"), ("合计", "93.0", "92.0")]),
        _h2("审计意见"),
        _para("项目资金专款专用，支出真实、合规，会计核算符合规定。"),
        _signature("注册会计师", "复核"),
    ])
    for n, (user, scene, score) in enumerate([
            ("长沙示例物流有限公司（虚构）", "区域配送中心日常入库与盘点", "优"),
            ("株洲示例制造有限公司（虚构）", "原材料仓出入库与缺料预警", "良")], start=1):
        docs[f"user-eval-{n}.pdf"] = (f"用户使用评价报告（{n}）", f"2026-03-0{n + 1}", [
            _meta([("软件名称", PRODUCT), ("开发单位", APPLICANT), ("使用单位", user),
                   ("使用场景", scene), ("使用时间", "2025-12 至 2026-02")]),
            _h2("使用评价"),
            _table(["评价项", "评价"], [("功能满足度", score), ("运行稳定性", score), ("易用性", "良"),
                                        ("售后服务", "优")]),
            _para("系统运行稳定，出入库登记与库存查询满足日常业务需要，同意通过验收。"),
            _signature("使用单位（盖章）", "负责人"),
        ])
    docs["ip-cert-1.pdf"] = ("计算机软件著作权登记证书", "2026-01-15", [
        _meta([("软件名称", "智能仓储调度系统 V1.0"), ("著作权人", APPLICANT), ("登记号", "2026SR000000（虚构）"),
               ("开发完成日期", "2025-12-20"), ("权利取得方式", "原始取得"), ("权利范围", "全部权利")]),
        _para("本证书为测试夹具样例，登记号为虚构，不具有任何法律效力。"),
    ])
    docs["ip-cert-2.pdf"] = ("发明专利申请受理通知书", "2026-02-01", [
        _meta([("发明名称", "一种基于库存流水的出入库一致性保障方法"), ("申请人", APPLICANT),
               ("申请号", "202610000000.0（虚构）"), ("申请日", "2026-01-28")]),
        _para("本通知书为测试夹具样例，申请号为虚构，不具有任何法律效力。"),
    ])
    return docs


def _subset_font(pages, directory):
    """Write a desubroutinized subset of the CJK font holding only the characters used.

    WeasyPrint subsets fonts too, but keeps the CFF subroutines of Noto CJK, which
    makes each embedded font ~100 KB; a pre-made subset keeps a page near 15 KB.
    """
    text = "".join(pages) + "".join(chr(c) for c in range(0x20, 0x7F))
    font = TTCollection(str(CJK_FONT), recalcTimestamp=False).fonts[CJK_FONT_NUMBER]
    options = subset.Options()
    options.desubroutinize = False
    options.hinting = False
    options.layout_features = []
    options.name_IDs = [1, 2]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    path = Path(directory) / "fixture-cjk.otf"
    font.save(str(path))
    return path


NODE_PRODUCT = "设备维修工单服务 V1.0.0"
NODE_FUNCTIONS = [
    ("F-01", "工单登记", "登记设备维修工单，校验输入，计算处理时限。"),
    ("F-02", "工单查询", "列出、筛选、按编号查询工单。"),
    ("F-03", "工单流转", "派工、处理、解决、关闭、撤销；拒绝不允许的流转。"),
    ("F-04", "工单持久化", "变更在应答前落盘，重启后不丢失。"),
    ("F-05", "工单统计", "按状态统计，统计超期工单。"),
    ("F-06", "健康检查与请求防护", "健康检查；错误请求返回 4xx。"),
]


def node_documents():
    """The dossier of fixtures/node-delivery: each output file name to (title, date, HTML parts)."""
    docs = {}
    docs["test-report.pdf"] = ("软件产品测试报告", "2026-04-20", [
        _meta([("产品名称", NODE_PRODUCT), ("委托单位", APPLICANT), ("报告编号", "HNST-2026-S-0077"),
               ("测试依据", "GB/T 25000.51-2016"), ("测试日期", "2026-04-08 至 2026-04-17")]),
        _h2("一、测试结论"),
        _para("被测软件的功能性、性能效率、兼容性、可靠性、安全性满足任务书要求。"),
        _h2("二、测试结果汇总"),
        _table(["质量特性", "指标", "要求", "测试结果", "结论"], [
            ("功能性", "功能测试用例通过率", "≥ 95%", "100%（27/27）", "符合"),
            ("性能效率", "10 并发下 95% 响应时间", "≤ 300 ms", "21 ms", "符合"),
            ("可靠性", "强制终止后已确认工单丢失条数", "= 0", "0", "符合"),
            ("安全性", "注入类安全问题、硬编码凭据", "= 0", "0", "符合"),
            ("兼容性", "两个时区下测试通过率", "= 100%", "100%", "符合"),
        ]),
        _signature("编制", "审核", "批准"),
    ])
    docs["function-list.pdf"] = ("产品功能清单", "2026-04-01", [
        _meta([("产品名称", NODE_PRODUCT), ("申报单位", APPLICANT)]),
        _table(["编号", "功能名称", "功能说明"], NODE_FUNCTIONS),
        _signature("编制", "审核"),
    ])
    docs["novelty-search.pdf"] = ("科技查新报告", "2026-03-12", [
        _meta([("查新项目", NODE_PRODUCT), ("委托人", APPLICANT), ("查新机构", "湖南示例科技信息研究所（虚构）"),
               ("报告编号", "CX-2026-0203"), ("检索范围", "中文期刊、专利、科技成果库（2016–2026）")]),
        _h2("查新点"),
        _para("基于追加日志的维修工单状态流转：每次变更应答前落盘，崩溃后按最后完整记录恢复。"),
        _h2("查新结论"),
        _para("在检索范围内，未见与查新点完全相同的公开报道。"),
        _signature("查新员", "审核员"),
    ])
    docs["audit-report.pdf"] = ("项目资金专项审计报告", "2026-04-25", [
        _meta([("被审计单位", APPLICANT), ("审计项目", NODE_PRODUCT + " 省级重点软件项目资金"),
               ("报告编号", "SJ-2026-131"), ("审计机构", "湖南示例会计师事务所（虚构）")]),
        _table(["科目", "预算（万元）", "实际支出（万元）"], [
            ("设备费", "12.0", "11.4"), ("材料费", "3.0", "2.6"), ("测试化验加工费", "6.0", "5.8"),
            ("劳务费", "48.0", "47.5"), ("合计", "69.0", "67.3")]),
        _h2("审计意见"),
        _para("项目资金专款专用，支出真实、合规，会计核算符合规定。"),
        _signature("注册会计师", "复核"),
    ])
    for n, (user, scene) in enumerate([
            ("湘潭示例机械有限公司（虚构）", "车间设备报修与派工"),
            ("衡阳示例水务有限公司（虚构）", "泵站设备巡检与维修跟踪")], start=1):
        docs[f"user-eval-{n}.pdf"] = (f"用户使用评价报告（{n}）", f"2026-04-0{n + 2}", [
            _meta([("软件名称", NODE_PRODUCT), ("开发单位", APPLICANT), ("使用单位", user),
                   ("使用场景", scene), ("使用时间", "2026-01 至 2026-03")]),
            _h2("使用评价"),
            _table(["评价项", "评价"], [("功能满足度", "优"), ("运行稳定性", "优"), ("易用性", "良"),
                                        ("售后服务", "优")]),
            _para("工单登记、派工与统计满足日常维修管理需要，运行稳定，同意通过验收。"),
            _signature("使用单位（盖章）", "负责人"),
        ])
    docs["ip-cert-1.pdf"] = ("计算机软件著作权登记证书", "2026-02-15", [
        _meta([("软件名称", "设备维修工单服务 V1.0"), ("著作权人", APPLICANT), ("登记号", "2026SR000001（虚构）"),
               ("开发完成日期", "2026-01-20"), ("权利取得方式", "原始取得"), ("权利范围", "全部权利")]),
        _para("本证书为测试夹具样例，登记号为虚构，不具有任何法律效力。"),
    ])
    return docs


#: The fixtures this script writes a dossier for: name -> (documents, output folder).
DOSSIERS = {
    "sample-delivery": (documents, OUT),
    "node-delivery": (node_documents, FIXTURES / "node-delivery" / "docs" / "acceptance"),
}


def main(argv: list[str] | None = None) -> int:
    """Write every PDF into the fixture named on the command line (default: sample-delivery); fail
    if one exceeds the size budget."""
    names = (sys.argv[1:] if argv is None else argv) or ["sample-delivery"]
    status = 0
    for name in names:
        if name not in DOSSIERS:
            print(f"error: unknown fixture {name!r} (known: {', '.join(DOSSIERS)})", file=sys.stderr)
            return 2
        make_docs, out = DOSSIERS[name]
        status |= _write(make_docs(), out)
    return status


def _write(docs, out):
    """Render ``docs`` into ``out`` with a subset CJK font; 1 when a PDF is over budget."""
    out.mkdir(parents=True, exist_ok=True)
    status = 0
    pages = {name: _page(title, date, parts) for name, (title, date, parts) in docs.items()}
    with tempfile.TemporaryDirectory() as tmp:
        font_path = _subset_font(pages.values(), tmp)
        config = FontConfiguration()
        face = WeasyCSS(string=f'@font-face {{ font-family: "FixtureCJK"; src: url("{font_path.as_uri()}"); }}',
                        font_config=config)
        for name, page in pages.items():
            target = out / name
            HTML(string=page).write_pdf(target, stylesheets=[face], font_config=config,
                                            pdf_identifier=name.encode())
            status |= _check(target)
    return status


def _check(target):
    """Print the file's size; return 1 when it is over budget."""
    size = target.stat().st_size
    print(f"{target.relative_to(FIXTURES)}  {size} bytes")
    if size > MAX_BYTES:
        print(f"error: {target.name} is larger than {MAX_BYTES} bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
