"""Make the messy register files the import tests read (run from the repository root).

    python tests/hub/crosscheck/assets/make_assets.py

Each file imitates what departments actually send: a title block above the
header, headers in Chinese or English in any order with extra columns, blank
rows, dates in every usual format, ID numbers with spaces, a lowercase x,
full-width digits, 15 digits, or mangled by a spreadsheet; a GBK-encoded CSV;
an XLSX with date cells, Excel serial numbers and text dates. The people are
made up; their ID numbers are valid (or broken on purpose) by construction.
``test_assets.py`` regenerates the files and checks the committed ones match.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from protocol.idnumber import make_id_number

HERE = Path(__file__).resolve().parent


def idn(code: str, born: dt.date, seq: int, sex: str) -> str:
    return make_id_number(code, born, seq, sex)


# Valid people (ID numbers built from their birth dates and sex).
WANG = idn("370102", dt.date(1956, 3, 12), 11, "1")
LI = idn("370102", dt.date(1949, 10, 1), 12, "2")
ZHANG = idn("370103", dt.date(1960, 7, 9), 13, "1")
# Stored as a number in the XLSX, so it must end in a digit.
ZHAO = next(
    number
    for seq in range(14, 100)
    if not (number := idn("370112", dt.date(1962, 12, 30), seq, "1")).endswith("X")
)
LIU = idn("370102", dt.date(1975, 5, 20), 15, "2")
CHEN = idn("370102", dt.date(1938, 1, 5), 16, "1")
X_PERSON = next(
    number
    for seq in range(100)
    if (number := idn("370104", dt.date(1958, 8, 8), seq, "1")).endswith("X")
)
#: A 15-digit number issued before 1999, born 1952-04-17.
LEGACY15 = "370102520417031"
BAD_CHECK = WANG[:17] + ("0" if WANG[17] != "0" else "1")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def household_mixed_csv() -> bytes:
    """UTF-8 with BOM, a title row, mixed Chinese/English headers, extra columns."""
    rows = [
        ["济南市历下区户籍人口信息（导出）", "", "", "", "", "", "", "", ""],
        ["序号", "Name", "出生日期", "性别", "公民身份号码（18位）", "Village", "户籍地址",
         "人员状态", "备注"],
        ["1", "王  芳", "1956-03-12", "男", f" {WANG[:6]} {WANG[6:14]} {WANG[14:]} ", "甲村",
         "山东省济南市历下区解放路街道1号", "正常", ""],
        ["2", "李秀英", "1949/10/1", "女", LI, "", "山东省济南市历下区文东街道2号", "死亡", ""],
        ["", "", "", "", "", "", "", "", ""],
        ["3", "张伟", "1960.07.09", "M", _full_width(ZHANG), "", "济南市市中区3号", "正常", ""],
        ["4", "赵磊", "19621230", "male", ZHAO, "", "济南市历城区4号", "正常", ""],
        ["5", "刘洋", "1975年5月20日", "F", LIU, "", "济南市历下区5号", "正常", ""],
        ["6", "陈国强", "1938-01-05 00:00:00", "男", CHEN, "", "济南市历下区6号", "已故", ""],
        ["7", "孙丽", "1958-08-08", "男", X_PERSON.lower(), "", "济南市天桥区7号", "正常", ""],
        ["8", "周建国", "1952-04-17", "男", LEGACY15, "", "济南市历下区8号", "正常", ""],
        ["9", "吴敏", "1956-03-12", "女", BAD_CHECK, "", "济南市历下区9号", "正常", ""],
        ["10", "郑华", "1956-13-40", "女", "3.70102E+17", "", "济南市历下区10号", "迁出", ""],
        ["11", "", "", "", "", "", "", "", "备注只有这一格"],
        [],
    ]  # fmt: skip
    out = io.StringIO(newline="")
    for row in rows:
        out.write(",".join(row) + "\r\n")
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def household_gbk_csv() -> bytes:
    """GBK without BOM, English-ordered Chinese headers, 是否死亡 / 死亡日期 columns."""
    lines = [
        "身份证号,姓名,性别,出生日期,户籍地区划代码,是否死亡,死亡日期,联系电话",
        f"{WANG},王芳,男,1956-03-12,370102001,否,,13800000001",
        f"{LI},李秀英,女,1949-10-01,370102002,是,2025-02-03,",
        ",,,,,,,",
        f"{ZHANG},张伟,男,1960-07-09,370103003,否,,",
        f"{ZHAO},赵磊,男,1962/12/30,999999001,否,,",
        f"{CHEN},陈国强,男,1938-01-05,370102001,,2024-11-30,",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def pension_rows() -> list[list[object]]:
    """The cells of pension.xlsx, as written (dates as date cells, serials and text)."""
    return [
        ["享受国家抚恤补助人员名单（2026年）", None, None, None, None, None],
        [None, None, None, None, None, None],
        ["姓名", "证件号码", "出生日期", "优抚对象类别", "伤残等级", "是否享受定期抚恤补助"],
        ["王芳", WANG, dt.datetime(1956, 3, 12), "残疾军人", "三级", "是"],
        ["李秀英", LI, 18172, "烈士遗属", None, "是"],
        [None, None, None, None, None, None],
        ["张伟", ZHANG, "1960年7月9日", "残疾军人、退役士兵", "8级", "否"],
        ["周建国", int(LEGACY15), "1952.4.17", "退役士兵", None, "是"],
        ["赵磊", float(ZHAO), dt.date(1962, 12, 30), "残疾军人", "十一级", "是"],
        ["钱进", None, "1961-02-03", "退役士兵", None, "是"],
        [None, None, None, None, None, None],
    ]


def pension_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "名单"
    for row in pension_rows():
        sheet.append(row)
    # Fixed document times, so the workbook's content does not depend on today.
    book.properties.created = book.properties.modified = dt.datetime(2026, 1, 1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ASSETS = {
    "household_mixed.csv": household_mixed_csv,
    "household_gbk.csv": household_gbk_csv,
    "pension.xlsx": pension_xlsx,
}


def main() -> None:
    for name, make in ASSETS.items():
        (HERE / name).write_bytes(make())
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
