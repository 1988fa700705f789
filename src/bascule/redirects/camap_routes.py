"""The route table of a Camap source (an instance-to-instance move): Camap's own URLs on the old
host → the same page on the new host, ids remapped. Data, in one place, like ``routes.ROUTES``
(whose DSL, actions and rules it follows).

Source: camap-schema.md §5.2, the HEAD column (a Camap 2023 instance serves the same paths, the
HEAD-only ones aside, which then just never match). The rules are those of the Cagette table:
routes whose ids are only of shared kinds (User, Vendor, File) are ``left`` (the user or vendor
may stay on the old instance with another group); signed links cannot be recomputed without the
old key; actions (deletes, token-protected) go to ``/home`` and are never replayed.
"""

from __future__ import annotations

from bascule.redirects.routes import H, L, R, Route

_REF = "camap 5.2"
_ACTION = "action (state-changing or token-protected): never replayed on the new host"


def _same(name: str, path: str, notes: str = "") -> Route:
    """The same path on the new host (query ids included), ids remapped."""
    return R(name, path, path, _REF, notes)


CAMAP_ROUTES: list[Route] = [
    _same("group", "/group/{G}", "public group page"),
    _same("group.list", "/group/list/{G}", "waiting list"),
    _same("group.listCancel", "/group/listCancel/{G}"),
    _same("group.disabled", "/group/disabled/{G}"),
    _same("user.choose", "/user/choose?group={G}", "group selector; ?redirect= dropped"),
    R("user.quitGroup", "/user/quitGroup/{G}/{U}/{sig:hash}", "/group/{G}", _REF,
      "signed with the old instance's key: the new group page lets the member leave"),
    L("invite", "/invite/{sig:hash}/{G}", _REF, "signed with the old key, e-mail in the path"),
    _same("subscriptions.contract", "/subscriptions/contract/{C}", "member subscription form"),
    H("subscriptions.delete", "/subscriptions/delete/{S}", _REF, _ACTION),
    _same("history.orders", "/history/orders/{C}"),
    _same("history.basket", "/history/basket/{B}"),
    _same("history.basket.type", "/history/basket/{B}/{type:int}"),
    _same("history.subscriptionOrders", "/history/subscriptionOrders/{S}"),
    _same("history.subscriptionPayments", "/history/subscriptionPayments/{S}"),
    L("member.view", "/member/view/{U}", _REF, "shared kind (User); also payments, edit, loginas"),
    _same("member.invoice", "/member/invoice/{U}/{MD}", "the MultiDistrib tells the group"),
    _same("place.view", "/place/view/{PL}"),
    _same("place.edit", "/place/edit/{PL}"),
    L("vendor.view", "/vendor/view/{V}", _REF, "shared kind (Vendor)"),
    L("vendor.edit", "/vendor/edit/{V}", _REF, "shared kind (Vendor)"),
    L("transaction.insertPayment", "/transaction/insertPayment/{U}", _REF, "shared kind (User)"),
    _same("transaction.edit", "/transaction/edit/{O}"),
    H("transaction.delete", "/transaction/delete/{O}", _REF, _ACTION),
    _same("contract.editVarOrders", "/contract/editVarOrders/{MD}"),
    L("contract.insert", "/contract/insert/{V}", _REF, "shared kind (Vendor)"),
    _same("contractAdmin.orders.d", "/contractAdmin/orders/{C}?d={D}", "?csv=1 dropped"),
    _same("contractAdmin.ordersByProduct.d", "/contractAdmin/ordersByProduct/{C}?d={D}"),
    _same("contractAdmin.ordersByProductList.d", "/contractAdmin/ordersByProductList/{C}?d={D}"),
    _same("contractAdmin.ordersByDate", "/contractAdmin/ordersByDate/{day:date}/{PL}"),
    _same("contractAdmin.subscriptions.insert", "/contractAdmin/subscriptions/insert/{C}"),
    _same("contractAdmin.subscriptions.massPayments",
          "/contractAdmin/subscriptions/massPayments/{C}"),
    H("contractAdmin.participate", "/contractAdmin/participate/{MD}/{C}", _REF, _ACTION),
    H("contractAdmin.tmpBaskets", "/contractAdmin/tmpBaskets/{MD}", _REF, _ACTION),
    _same("distribution.volunteersCalendar", "/distribution/volunteersCalendar/{MD}"),
    _same("distribution.unsubscribeFromRole", "/distribution/unsubscribeFromRole/{MD}/{VR}"),
    _same("distribution.listByDate", "/distribution/listByDate/{day:date}/{PL}"),
    _same("distribution.listByDate.type", "/distribution/listByDate/{day:date}/{PL}/{type:int}"),
    _same("distribution.listByDate.type.font",
          "/distribution/listByDate/{day:date}/{PL}/{type:int}/{font:int}"),
    L("file", "/file/{F}_{sig}.{ext}", _REF, "signed with the old key; the old host serves it"),
    L("api", "/api/catalog/{C}", _REF, "JSON API: clients do not follow a cross-host redirect"),
]
for _a in ("view", "edit", "products", "distributions", "selectDistrib", "orders",
           "ordersByProduct", "ordersByProductList", "subscriptions", "documents", "stats",
           "absences", "roles", "stocks", "batchOrder"):
    CAMAP_ROUTES.append(_same(f"contractAdmin.{_a}", f"/contractAdmin/{_a}/{{C}}"))
for _a in ("delete", "duplicate", "updatePrices", "copyProducts"):
    CAMAP_ROUTES.append(H(f"contractAdmin.{_a}", f"/contractAdmin/{_a}/{{C}}", _REF, _ACTION))
for _a in ("edit", "payments", "balanceTransfer", "insertPayment"):
    CAMAP_ROUTES.append(_same(f"contractAdmin.subscriptions.{_a}",
                              f"/contractAdmin/subscriptions/{_a}/{{S}}"))
CAMAP_ROUTES.append(H("contractAdmin.subscriptions.delete", "/contractAdmin/subscriptions/delete/{S}",
                      _REF, _ACTION))
for _a in ("list", "listByProductUser", "csaList", "edit", "shift"):
    CAMAP_ROUTES.append(_same(f"distribution.{_a}", f"/distribution/{_a}/{{D}}"))
for _a in ("notAttend", "delete"):
    CAMAP_ROUTES.append(H(f"distribution.{_a}", f"/distribution/{_a}/{{D}}", _REF, _ACTION))
for _a in ("editMd", "volunteerRoles", "volunteers", "inviteFarmers", "missingProduct",
           "changePrice"):
    CAMAP_ROUTES.append(_same(f"distribution.{_a}", f"/distribution/{_a}/{{MD}}"))
CAMAP_ROUTES.append(H("distribution.deleteMd", "/distribution/deleteMd/{MD}", _REF, _ACTION))
for _a in ("editCycle", "inviteFarmersCycle"):
    CAMAP_ROUTES.append(_same(f"distribution.{_a}", f"/distribution/{_a}/{{CY}}"))
CAMAP_ROUTES.append(H("distribution.deleteCycle", "/distribution/deleteCycle/{CY}", _REF, _ACTION))
CAMAP_ROUTES.append(_same("distribution.insertCycle", "/distribution/insertCycle/{C}"))
CAMAP_ROUTES.append(_same("product.edit", "/product/edit/{P}"))
CAMAP_ROUTES.append(H("product.delete", "/product/delete/{P}", _REF, _ACTION))
for _a in ("insert", "import", "export"):
    CAMAP_ROUTES.append(_same(f"product.{_a}", f"/product/{_a}/{{C}}"))

for _r in CAMAP_ROUTES:
    _r._check()
if len({r.name for r in CAMAP_ROUTES}) != len(CAMAP_ROUTES):  # pragma: no cover
    raise ValueError("duplicate route names")

#: The routes an emitter turns into rules for a Camap source.
CAMAP_ACTIVE_ROUTES: list[Route] = [r for r in CAMAP_ROUTES if r.redirects]
