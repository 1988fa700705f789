"""What a person reads of a run: the reports of plan, migrate, verify and rollback.

- ``models``: the reports as typed values (pydantic), the JSON written and read back, their JSON
  Schema in ``docs/schema/`` (``schema``);
- ``view``: what a report shows, computed once (summary in words, groups, per-table bars,
  notes, differences, producers affected, timings);
- ``render``: HTML (one self-contained file) and Markdown from templates over that view;
- ``tables``: the big tables of the view (a row per group and table) as HTML rows and
  Markdown, in a few passes over one string;
- ``terminal``: the same view as rich tables, and CSV;
- ``files``: the report files of a run, under names no other run takes;
- ``describe``: ``bascule describe``'s output.

Names are repaired (``transform.clean.display_text``) before they reach a model.
"""

from bascule.report.files import check_outputs, report_json, write_json, write_reports
from bascule.report.models import REPORTS, ReportBase, load_report
from bascule.report.render import to_html, to_markdown
from bascule.report.terminal import print_report, report_csv

__all__ = ["REPORTS", "ReportBase", "load_report", "print_report", "report_csv", "report_json",
           "to_html", "to_markdown", "write_json", "write_reports", "check_outputs"]
