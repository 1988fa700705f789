"""THE route table: which old Cagette URL goes to which Camap URL. Data, in one place.

Sources: cagette-schema.md §7 (every Cagette route with ids) and camap-schema.md §5.2 (the Camap
route that shows the same thing). One ``Route`` per old URL shape:

``old``  the Cagette path, with ``{K}`` for an id of kind K (codes below), ``{name:int}`` /
         ``{name:date}`` for a plain number / YYYY-MM-DD segment carried over verbatim, and
         ``{name:hash}`` for a signature segment (matched, never carried). Query ids follow
         ``?``: ``?group={G}`` (the order of query parameters in a request does not matter; other
         parameters are ignored and not carried over).
``new``  the Camap path with the same placeholders (ids remapped), or None: not redirected.
``action``
    ``redirect``  same thing on Camap, new ids;
    ``home``      Cagette-only page (or a state-changing action, or a link whose signature cannot
                  be recomputed) about a moved entity: sent to the new host's ``/home`` (never
                  replaying an action), only when every id in it is a moved one;
    ``left``      not redirected at all: cagette.net keeps serving it (see ``notes``).

A URL redirects only when EVERY id in it is in the mapping (a moved entity); ids of shop-mode
groups are not in the mapping, so their URLs stay on the old host. Routes without an id are not
listed: they stay on the old host (the user reaches the new host through an id-carrying link, the
group page or the e-mails).

Decisions recorded here (see also ``notes`` of each route):
- Routes whose only ids are of SHARED kinds (User, Vendor, File) are ``left``: a user or a vendor
  may belong to a shop-mode group as well, which cagette.net keeps serving, and the URL alone does
  not say which group the page was about (``/member/view/{U}``, ``/vendor/edit/{V}``...).
- Signed links: ``/file/{F}_{sig}.{ext}`` is ``left`` (the signature is md5(id + instance key);
  the old host keeps serving the old File rows, and a new signature needs Camap's key);
  ``/user/quitGroup/{G}/{U}/{hash}`` goes to the new group page ``/group/{G'}`` (the member logs in
  there and leaves the group); ``/account/editNotif/{U}/{hash}`` and
  ``/vendorNoAuthEdit/{V}/{hash}`` are ``left`` (shared kinds, key-signed). Cache-token links
  (``/user/validate/{k}``, ``/user/forgottenPassword/{t}/{U}``) cannot move: ``left``.
- Actions (delete, token-protected, state-changing) are never replayed on the new host: ``home``.
- Producer space (``/p/pro/...``), shop-mode checkout (TmpBasket ids), the JSON API and the
  super-admin routes are ``left`` (their ids are not moved entities, or clients would not follow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

# id kind code (in the patterns) → source table name (bascule_idmap.table_name)
KIND_TABLE: dict[str, str] = {
    "G": "Group",
    "C": "Catalog",
    "P": "Product",
    "D": "Distribution",
    "MD": "MultiDistrib",
    "CY": "DistributionCycle",
    "PL": "Place",
    "U": "User",
    "V": "Vendor",
    "S": "Subscription",
    "B": "Basket",
    "O": "Operation",
    "UO": "UserOrder",
    "VR": "VolunteerRole",
    "EF": "EntityFile",
    "F": "File",
}
SHARED_CODES = frozenset({"U", "V", "F"})

# What a passthrough segment may contain (it is copied verbatim into the new URL).
PASSTHROUGH_RE = {"int": r"[0-9]{1,9}", "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "hash": r"[0-9a-fA-F]{8,64}"}
ID_RE = r"[0-9]{1,18}"
ACTIONS = ("redirect", "home", "left")

_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9]*)(?::(int|date|hash))?\}")
_LITERAL_OK = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Segment:
    """One path segment: a literal, an id of a kind, or a passthrough (int/date/hash)."""

    literal: str | None = None
    kind: str | None = None  # kind code, e.g. "C"
    passthrough: str | None = None  # "int" | "date" | "hash"
    name: str | None = None  # passthrough name

    @property
    def is_literal(self) -> bool:
        return self.literal is not None


@dataclass(frozen=True)
class QueryId:
    param: str  # query parameter name
    kind: str  # kind code


@dataclass(frozen=True)
class Route:
    name: str
    old: str
    new: str | None
    action: str
    ref: str  # where the route is documented
    notes: str = ""

    # --- parsing of the pattern DSL (validated at import time, see _check) -------------------

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        path = self.old.split("?", 1)[0]
        out = []
        for part in path.strip("/").split("/"):
            m = _PLACEHOLDER.fullmatch(part)
            if m:
                if m.group(2):
                    out.append(Segment(passthrough=m.group(2), name=m.group(1)))
                else:
                    out.append(Segment(kind=m.group(1)))
            else:
                out.append(Segment(literal=part))
        return tuple(out)

    @cached_property
    def query_ids(self) -> tuple[QueryId, ...]:
        if "?" not in self.old:
            return ()
        out = []
        for pair in self.old.split("?", 1)[1].split("&"):
            k, v = pair.split("=", 1)
            m = _PLACEHOLDER.fullmatch(v)
            out.append(QueryId(param=k, kind=m.group(1)))
        return tuple(out)

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """Kind codes of the ids this URL carries (path then query), in order."""
        return tuple(s.kind for s in self.segments if s.kind) + tuple(q.kind for q in self.query_ids)

    @cached_property
    def tables(self) -> tuple[str, ...]:
        return tuple(KIND_TABLE[k] for k in self.kinds)

    @property
    def redirects(self) -> bool:
        return self.action != "left"

    @cached_property
    def target(self) -> str | None:
        """The new path template (``/home`` for home routes, None for left ones)."""
        if self.action == "home":
            return "/home"
        return self.new

    def target_parts(self) -> list[tuple[str, str]]:
        """The new template as parts: ("text", s) | ("id", kind code) | ("pass", name)."""
        t = self.target or ""
        parts: list[tuple[str, str]] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(t):
            if m.start() > pos:
                parts.append(("text", t[pos:m.start()]))
            parts.append(("pass", m.group(1)) if m.group(2) else ("id", m.group(1)))
            pos = m.end()
        if pos < len(t):
            parts.append(("text", t[pos:]))
        return parts

    def render_new(self, ids: dict[str, int], passthrough: dict[str, str] | None = None) -> str:
        """The new path for given NEW ids (by kind code) and passthrough values."""
        out = []
        for typ, v in self.target_parts():
            if typ == "text":
                out.append(v)
            elif typ == "id":
                out.append(str(int(ids[v])))
            else:
                out.append((passthrough or {})[v])
        return "".join(out)

    def render_old(self, ids: dict[str, int], passthrough: dict[str, str] | None = None) -> str:
        """An old URL (path and query) for given OLD ids: used by the csv/json lists and tests."""
        segs = []
        for s in self.segments:
            if s.is_literal:
                segs.append(s.literal)
            elif s.kind:
                segs.append(str(int(ids[s.kind])))
            else:
                segs.append((passthrough or {})[s.name])
        url = "/" + "/".join(segs)
        if self.query_ids:
            url += "?" + "&".join(f"{q.param}={int(ids[q.kind])}" for q in self.query_ids)
        return url

    def _check(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"route {self.name}: action {self.action!r}")
        if self.action == "left":  # documentation only
            if self.new is not None:
                raise ValueError(f"route {self.name}: only redirect routes have a new path")
            return
        if not self.kinds:
            raise ValueError(f"route {self.name}: no id (id-less routes are not redirected)")
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"route {self.name}: one id per kind at most")
        for k in self.kinds:
            if k not in KIND_TABLE:
                raise ValueError(f"route {self.name}: unknown kind {k}")
        for s in self.segments:
            if s.is_literal and not _LITERAL_OK.match(s.literal):
                raise ValueError(f"route {self.name}: bad literal {s.literal!r}")
        if self.action == "redirect":
            if not self.new or not self.new.startswith("/"):
                raise ValueError(f"route {self.name}: redirect needs a new path")
            names = {s.name for s in self.segments if s.passthrough and s.passthrough != "hash"}
            for typ, v in self.target_parts():
                if typ == "id" and v not in self.kinds:
                    raise ValueError(f"route {self.name}: new uses {v} absent from old")
                if typ == "pass" and v not in names:
                    raise ValueError(f"route {self.name}: new uses {v} absent from old")
                if typ == "text" and not re.fullmatch(r"[A-Za-z0-9/?=&._-]+", v):
                    raise ValueError(f"route {self.name}: bad text in new {v!r}")
        elif self.new is not None:
            raise ValueError(f"route {self.name}: only redirect routes have a new path")


def R(name: str, old: str, new: str | None, ref: str, notes: str = "", action: str | None = None) -> Route:
    if action is None:
        action = "redirect" if new else "left"
    return Route(name=name, old=old, new=new, action=action, ref=ref, notes=notes)


def H(name: str, old: str, ref: str, notes: str) -> Route:
    """A Cagette-only page or an action about a moved entity: sent to /home on the new host."""
    return Route(name=name, old=old, new=None, action="home", ref=ref, notes=notes)


def L(name: str, old: str, ref: str, notes: str) -> Route:
    """Not redirected."""
    return Route(name=name, old=old, new=None, action="left", ref=ref, notes=notes)


_ACTION = "action (state-changing or token-protected): never replayed on the new host"

ROUTES: list[Route] = [
    # --- 7.2 public, member and login routes ------------------------------------------------
    R("group", "/group/{G}", "/group/{G}", "cagette 7.2 / camap 5.2",
      "public group page, linked in every group e-mail footer"),
    R("group.list", "/group/list/{G}", "/group/list/{G}", "cagette 7.2 / camap 5.2", "waiting list"),
    R("group.listCancel", "/group/listCancel/{G}", "/group/listCancel/{G}", "cagette 7.2 / camap 5.2"),
    R("group.register", "/group/register/{G}", "/group/{G}", "cagette 7.2",
      "no register route in camap 5.2: the group page offers registration"),
    R("user.choose", "/user/choose?group={G}", "/user/choose?group={G}", "cagette 7.2 / camap 5.2",
      "group selector; query id remapped"),
    R("user.quitGroup", "/user/quitGroup/{G}/{U}/{sig:hash}", "/group/{G}", "cagette 7.2 / camap 5.2",
      "signed with the old key (md5(KEY+G+U)): cannot be recomputed here; the new group page "
      "lets the member log in and leave"),
    L("user.forgottenPassword", "/user/forgottenPassword/{token:hash}/{U}", "cagette 7.2",
      "Cache token of the old instance: cannot move"),
    R("account.basket", "/account/basket/{B}", "/history/basket/{B}", "cagette 7.2 / camap 5.2"),
    R("account.basket.type", "/account/basket/{B}/{type:int}", "/history/basket/{B}/{type:int}",
      "cagette 7.2 / camap 5.2"),
    R("account.orders", "/account/orders/{C}", "/history/orders/{C}", "cagette 7.2 / camap 5.2"),
    R("account.subscriptionOrders", "/account/subscriptionOrders/{S}",
      "/history/subscriptionOrders/{S}", "cagette 7.2 / camap 5.2"),
    R("account.subscriptionPayments", "/account/subscriptionPayments/{S}",
      "/history/subscriptionPayments/{S}", "cagette 7.2 / camap 5.2"),
    L("account.editNotif", "/account/editNotif/{U}/{sig:hash}", "cagette 7.2",
      "e-mail footer signed with the old key, and users are shared with shop-mode groups"),
    R("contract.view", "/contract/view/{C}", "/subscriptions/contract/{C}", "cagette 7.2 / camap 5.2",
      "AMAP catalogs redirected to /contract/order/ in Cagette already"),
    R("contract.order", "/contract/order/{C}", "/subscriptions/contract/{C}", "cagette 7.2 / camap 5.2",
      "main AMAP subscription page"),
    R("contract.editVarOrders", "/contract/editVarOrders/{MD}", "/contract/editVarOrders/{MD}",
      "cagette 7.2 / camap 5.2"),
    H("contract.deleteSubscription", "/contract/deleteSubscription/{S}", "cagette 7.2 / camap 5.2",
      _ACTION + " (camap: /subscriptions/delete/{S'})"),
    R("contract.absences", "/contract/absences/{C}", "/contractAdmin/absences/{C}",
      "cagette 7.2 / camap 5.2"),
    H("shop", "/shop/{MD}", "cagette 7.2 / camap 5.2", "shop mode only: Cagette-only route"),
    H("shop.productInfo", "/shop/productInfo/{P}", "cagette 7.2", "shop mode only"),
    H("shop.submit", "/shop/submit/{MD}", "cagette 7.2", "shop mode only"),
    R("distribution.volunteersCalendar", "/distribution/volunteersCalendar?distrib={MD}",
      "/distribution/volunteersCalendar/{MD}", "cagette 7.2 / camap 5.2",
      "query → path; ?role= and ?from/to are dropped (Camap takes the MultiDistrib only)"),
    R("distribution.unsubscribeFromRole", "/distribution/unsubscribeFromRole/{MD}/{VR}",
      "/distribution/unsubscribeFromRole/{MD}/{VR}", "cagette 7.2 / camap 5.2", "?returnUrl= dropped"),
    L("file", "/file/{F}_{sig}.{ext}", "cagette 7.2 / camap 5.2",
      "not a real pattern of this table (the id shares a segment with the signature): the "
      "signature is md5(id + instance key); the old host keeps serving its File rows"),
    L("vendorNoAuthEdit", "/vendorNoAuthEdit/{V}/{sig:hash}", "cagette 7.2",
      "signed with the old key; vendors are shared with shop-mode groups"),
    # --- 7.3 group admin ------------------------------------------------------------------------
    L("amapadmin.editRight", "/amapadmin/editRight/{U}", "cagette 7.3", "shared kind (User)"),
    H("amapadmin.volunteers.editRole", "/amapadmin/volunteers/editRole/{VR}", "cagette 7.3",
      "not in camap 5.2"),
    H("amapadmin.volunteers.deleteRole", "/amapadmin/volunteers/deleteRole/{VR}", "cagette 7.3", _ACTION),
    H("amapadmin.documents.edit", "/amapadmin/documents/edit/{EF}", "cagette 7.3", "not in camap 5.2"),
    H("amapadmin.documents.delete", "/amapadmin/documents/delete/{EF}", "cagette 7.3", _ACTION),
    L("member.view", "/member/view/{U}", "cagette 7.3 / camap 5.2",
      "shared kind (User): the user may be a member of a shop-mode group served by cagette.net, "
      "and the page works on the session group; same for edit, payments, loginas, delete, merge, "
      "lastMessages, inviteMember"),
    R("member.invoice", "/member/invoice/{U}/{MD}", "/member/invoice/{U}/{MD}", "cagette 7.3 / camap 5.2",
      "the MultiDistrib tells the group"),
    R("place.view", "/place/view/{PL}", "/place/view/{PL}", "cagette 7.3 / camap 5.2"),
    R("place.edit", "/place/edit/{PL}", "/place/edit/{PL}", "cagette 7.3 / camap 5.2"),
    H("place.delete", "/place/delete/{PL}", "cagette 7.3", _ACTION),
    L("vendor.edit", "/vendor/edit/{V}", "cagette 7.3 / camap 5.2", "shared kind (Vendor)"),
    R("transaction.insertPayment.subscription", "/transaction/insertPayment/{U}/{S}",
      "/transaction/insertPayment/{U}", "cagette 7.3 / camap 5.2",
      "Camap takes the user only; the subscription tells the group"),
    R("transaction.edit", "/transaction/edit/{O}", "/transaction/edit/{O}", "cagette 7.3 / camap 5.2"),
    H("transaction.delete", "/transaction/delete/{O}", "cagette 7.3", _ACTION),
    H("validate", "/validate/{MD}/{U}", "cagette 7.3 / camap 5.2", "Cagette-only (shop validation)"),
    # --- 7.4 catalog administration -----------------------------------------------------------
    R("contractAdmin.view", "/contractAdmin/view/{C}", "/contractAdmin/view/{C}",
      "cagette 7.4 / camap 5.2", "catalog admin home ('Gérer')"),
    R("contractAdmin.products", "/contractAdmin/products/{C}", "/contractAdmin/products/{C}",
      "cagette 7.4 / camap 5.2", "?enable=/?disable= (product ids, actions) are dropped"),
    H("contractAdmin.copyProducts", "/contractAdmin/copyProducts/{C}", "cagette 7.4 / camap 5.2", _ACTION),
    H("contractAdmin.duplicate", "/contractAdmin/duplicate/{C}", "cagette 7.4 / camap 5.2", _ACTION),
    R("contractAdmin.orders.d", "/contractAdmin/orders/{C}?d={D}", "/contractAdmin/orders/{C}?d={D}",
      "cagette 7.4 / camap 5.2", "per-member orders of one distribution; ?csv=1 is dropped"),
    R("contractAdmin.orders", "/contractAdmin/orders/{C}", "/contractAdmin/orders/{C}",
      "cagette 7.4 / camap 5.2", "?delete=&token= (an action) is dropped"),
    H("contractAdmin.updatePrices", "/contractAdmin/updatePrices/{C}", "cagette 7.4 / camap 5.2", _ACTION),
    R("contractAdmin.ordersByProduct.d", "/contractAdmin/ordersByProduct/{C}?d={D}",
      "/contractAdmin/ordersByProduct/{C}?d={D}", "cagette 7.4 / camap 5.2"),
    R("contractAdmin.ordersByProduct", "/contractAdmin/ordersByProduct/{C}",
      "/contractAdmin/ordersByProduct/{C}", "cagette 7.4 / camap 5.2"),
    R("contractAdmin.ordersByProductList.d", "/contractAdmin/ordersByProductList/{C}?d={D}",
      "/contractAdmin/ordersByProductList/{C}?d={D}", "cagette 7.4 / camap 5.2"),
    R("contractAdmin.ordersByProductList", "/contractAdmin/ordersByProductList/{C}",
      "/contractAdmin/ordersByProductList/{C}", "cagette 7.4 / camap 5.2"),
    R("contractAdmin.distributions", "/contractAdmin/distributions/{C}", "/contractAdmin/distributions/{C}",
      "cagette 7.4 / camap 5.2"),
    H("contractAdmin.participate", "/contractAdmin/participate/{MD}/{C}", "cagette 7.4 / camap 5.2", _ACTION),
    R("contractAdmin.selectDistrib", "/contractAdmin/selectDistrib/{C}", "/contractAdmin/selectDistrib/{C}",
      "cagette 7.4 / camap 5.2", "'Commandes'"),
    R("contractAdmin.stats", "/contractAdmin/stats/{C}", "/contractAdmin/stats/{C}", "cagette 7.4 / camap 5.2"),
    H("contractAdmin.delete", "/contractAdmin/delete/{UO}", "cagette 7.4 / camap 5.2",
      "deleted a UserOrder in Cagette but deletes a CATALOG in Camap: never redirect the path"),
    H("contractAdmin.tmpBaskets", "/contractAdmin/tmpBaskets/{MD}", "cagette 7.4 / camap 5.2", "shop mode"),
    R("contractAdmin.ordersByDate", "/contractAdmin/ordersByDate/{day:date}/{PL}",
      "/contractAdmin/ordersByDate/{day:date}/{PL}", "cagette 7.4 / camap 5.2"),
    H("contractAdmin.vendorsByDate", "/contractAdmin/vendorsByDate/{day:date}/{PL}", "cagette 7.4 / camap 5.2",
      "commented out since the fork"),
    R("contractAdmin.documents", "/contractAdmin/documents/{C}", "/contractAdmin/documents/{C}",
      "cagette 7.4 / camap 5.2"),
    R("contractAdmin.documents.insert", "/contractAdmin/documents/insert/{C}", "/contractAdmin/documents/{C}",
      "cagette 7.4", "not in camap 5.2: the catalog's document list"),
    R("contractAdmin.documents.edit", "/contractAdmin/documents/edit/{EF}/{C}", "/contractAdmin/documents/{C}",
      "cagette 7.4", "not in camap 5.2: the catalog's document list"),
    H("contractAdmin.documents.delete", "/contractAdmin/documents/delete/{EF}/{C}", "cagette 7.4", _ACTION),
    R("contractAdmin.subscriptions", "/contractAdmin/subscriptions/{C}", "/contractAdmin/subscriptions/{C}",
      "cagette 7.4 / camap 5.2", "AMAP subscriptions list"),
    R("contractAdmin.subscriptions.insert", "/contractAdmin/subscriptions/insert/{C}",
      "/contractAdmin/subscriptions/insert/{C}", "cagette 7.4 / camap 5.2"),
    R("contractAdmin.subscriptions.massPayments", "/contractAdmin/subscriptions/massPayments/{C}",
      "/contractAdmin/subscriptions/massPayments/{C}", "cagette 7.4 / camap 5.2"),
    H("contractAdmin.subscriptions.unmarkAll", "/contractAdmin/subscriptions/unmarkAll/{C}",
      "cagette 7.4 / camap 5.2", _ACTION + "; C21 only"),
]

# The subscription actions by subscription id, under /contractAdmin/subscriptions/ and the C21
# alias /subscriptions/ (which, in Camap, is the MEMBER controller: never keep that prefix).
for _a in ("edit", "payments", "balanceTransfer", "insertPayment"):
    ROUTES.append(R(f"contractAdmin.subscriptions.{_a}", f"/contractAdmin/subscriptions/{_a}/{{S}}",
                    f"/contractAdmin/subscriptions/{_a}/{{S}}", "cagette 7.4 / camap 5.2"))
    ROUTES.append(R(f"subscriptions.{_a}", f"/subscriptions/{_a}/{{S}}",
                    f"/contractAdmin/subscriptions/{_a}/{{S}}", "cagette 7.4 / camap 5.2",
                    "C21 /subscriptions/ was the admin controller"))
for _a in ("delete", "markAsPaid", "unmarkAsPaid"):
    ROUTES.append(H(f"contractAdmin.subscriptions.{_a}", f"/contractAdmin/subscriptions/{_a}/{{S}}",
                    "cagette 7.4 / camap 5.2", _ACTION))
    ROUTES.append(H(f"subscriptions.{_a}", f"/subscriptions/{_a}/{{S}}", "cagette 7.4 / camap 5.2", _ACTION))
for _a in ("absences", "defaultOrders"):
    ROUTES.append(H(f"contractAdmin.subscriptions.{_a}", f"/contractAdmin/subscriptions/{_a}/{{S}}",
                    "cagette 7.4 / camap 5.2", "C21 only, no Camap counterpart"))
    ROUTES.append(H(f"subscriptions.{_a}", f"/subscriptions/{_a}/{{S}}", "cagette 7.4 / camap 5.2",
                    "C21 only, no Camap counterpart"))
ROUTES += [
    R("subscriptions.insert", "/subscriptions/insert/{C}", "/contractAdmin/subscriptions/insert/{C}",
      "cagette 7.4 / camap 5.2", "C21 admin alias"),
    R("subscriptions.massPayments", "/subscriptions/massPayments/{C}",
      "/contractAdmin/subscriptions/massPayments/{C}", "cagette 7.4 / camap 5.2", "C21 admin alias"),
    H("subscriptions.unmarkAll", "/subscriptions/unmarkAll/{C}", "cagette 7.4", _ACTION),
    R("subscriptions", "/subscriptions/{C}", "/contractAdmin/subscriptions/{C}", "cagette 7.4 / camap 5.2",
      "C21 alias of /contractAdmin/subscriptions/{C}"),
    L("contract.insertChoose", "/contract/insertChoose/{V}", "cagette 7.4", "shared kind (Vendor)"),
    L("contract.insert", "/contract/insert/{V}", "cagette 7.4", "shared kind (Vendor)"),
    R("contract.edit", "/contract/edit/{C}", "/contractAdmin/edit/{C}", "cagette 7.4 / camap 5.2"),
    H("contract.delete", "/contract/delete/{C}", "cagette 7.4 / camap 5.2", _ACTION),
    R("product.edit", "/product/edit/{P}", "/product/edit/{P}", "cagette 7.4 / camap 5.2"),
    H("product.delete", "/product/delete/{P}", "cagette 7.4 / camap 5.2", _ACTION),
    R("product.insert", "/product/insert/{C}", "/product/insert/{C}", "cagette 7.4 / camap 5.2"),
    R("product.import", "/product/import/{C}", "/product/import/{C}", "cagette 7.4 / camap 5.2",
      "?confirm=1 dropped"),
    H("product.categorize", "/product/categorize/{C}", "cagette 7.4", "not in camap 5.2"),
    # --- 7.5 distributions ----------------------------------------------------------------------
    R("distribution.list", "/distribution/list/{D}", "/distribution/list/{D}", "cagette 7.5 / camap 5.2"),
    R("distribution.listByProductUser", "/distribution/listByProductUser/{D}",
      "/distribution/listByProductUser/{D}", "cagette 7.5 / camap 5.2"),
    R("distribution.edit", "/distribution/edit/{D}", "/distribution/edit/{D}", "cagette 7.5 / camap 5.2"),
    R("distribution.shift", "/distribution/shift/{D}", "/distribution/shift/{D}", "cagette 7.5 / camap 5.2"),
    H("distribution.notAttend", "/distribution/notAttend/{D}", "cagette 7.5 / camap 5.2", _ACTION),
    H("distribution.delete", "/distribution/delete/{D}", "cagette 7.5 / camap 5.2", _ACTION),
    R("distribution.listByDate", "/distribution/listByDate/{day:date}/{PL}",
      "/distribution/listByDate/{day:date}/{PL}", "cagette 7.5 / camap 5.2"),
    R("distribution.listByDate.type", "/distribution/listByDate/{day:date}/{PL}/{type:int}",
      "/distribution/listByDate/{day:date}/{PL}/{type:int}", "cagette 7.5 / camap 5.2"),
    R("distribution.listByDate.type.font", "/distribution/listByDate/{day:date}/{PL}/{type:int}/{font:int}",
      "/distribution/listByDate/{day:date}/{PL}/{type:int}/{font:int}", "cagette 7.5 / camap 5.2"),
    H("distribution.insert", "/distribution/insert/{C}", "cagette 7.5 / camap 5.2",
      "commented out since the fork"),
    R("distribution.insertCycle", "/distribution/insertCycle/{C}", "/distribution/insertCycle/{C}",
      "cagette 7.5 / camap 5.2"),
]
for _a in ("editMd", "volunteerRoles", "volunteers", "inviteFarmers", "missingProduct", "changePrice"):
    ROUTES.append(R(f"distribution.{_a}", f"/distribution/{_a}/{{MD}}", f"/distribution/{_a}/{{MD}}",
                    "cagette 7.5 / camap 5.2"))
for _a in ("deleteMd", "validate", "cancel", "autovalidate", "unvalidate"):
    ROUTES.append(H(f"distribution.{_a}", f"/distribution/{_a}/{{MD}}", "cagette 7.5 / camap 5.2",
                    _ACTION + ("; Cagette-only" if _a != "deleteMd" else "")))
for _a in ("counter", "timeSlots", "volunteersSummary"):
    ROUTES.append(H(f"distribution.{_a}", f"/distribution/{_a}/{{MD}}", "cagette 7.5 / camap 5.2",
                    "Cagette-only"))
ROUTES += [
    R("distribution.editCycle", "/distribution/editCycle/{CY}", "/distribution/editCycle/{CY}",
      "cagette 7.5 / camap 5.2"),
    R("distribution.inviteFarmersCycle", "/distribution/inviteFarmersCycle/{CY}",
      "/distribution/inviteFarmersCycle/{CY}", "cagette 7.5 / camap 5.2"),
    H("distribution.deleteCycle", "/distribution/deleteCycle/{CY}", "cagette 7.5 / camap 5.2", _ACTION),
    # --- 7.6 JSON API: not redirected --------------------------------------------------------------
    L("api.planning", "/api/planning/{G}", "cagette 7.6 / camap 5.2",
      "JSON API: Camap's API differs and embedding clients do not follow a cross-host redirect "
      "usefully; the same holds for /api/group, /api/order, /api/product, /api/places"),
    # --- 7.7 plugins on the group side ----------------------------------------------------------
    R("connector.contract", "/p/connector/contract/{C}", "/contractAdmin/view/{C}", "cagette 7.7",
      "the producer-space link is gone: the catalog admin page"),
    H("who", "/p/who/{C}", "cagette 7.7", "wholesale plugin: Cagette-only"),
    H("who.config", "/p/who/config/{C}", "cagette 7.7", "wholesale plugin: Cagette-only"),
    H("who.balance", "/p/who/balance/{D}", "cagette 7.7", "wholesale plugin: Cagette-only"),
    H("who.confirm", "/p/who/confirm/{D}", "cagette 7.7", "wholesale plugin: Cagette-only"),
    H("who.popup", "/p/who/popup/{D}", "cagette 7.7", "wholesale plugin: Cagette-only"),
    # --- 7.8 producer space: stays on cagette.net ------------------------------------------------
    L("pro.group", "/p/pro/group/{G}", "cagette 7.8",
      "producer space stays on cagette.net for shop-mode groups; its own ids (PCatalog, POffer...) "
      "are not moved entities"),
]

for _r in ROUTES:
    _r._check()
_names = [r.name for r in ROUTES]
if len(set(_names)) != len(_names):  # pragma: no cover
    raise ValueError("duplicate route names")

# The routes an emitter turns into rules (the "left" ones and the illustrative /file entry are
# documentation only).
ACTIVE_ROUTES: list[Route] = [r for r in ROUTES if r.redirects]


def active_routes() -> list[Route]:
    return list(ACTIVE_ROUTES)


def tables_used(routes: list[Route] | None = None) -> list[str]:
    """Source tables (mapping kinds) whose id maps the emitted config needs."""
    rs = ACTIVE_ROUTES if routes is None else routes
    return sorted({KIND_TABLE[k] for r in rs for k in r.kinds})


def codes_used(routes: list[Route] | None = None) -> list[str]:
    rs = ACTIVE_ROUTES if routes is None else routes
    return sorted({k for r in rs for k in r.kinds})
