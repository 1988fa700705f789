"""A group's members: memberships, volunteers, waiting list, documents, messages, rights (mixin
of GroupGen)."""

from __future__ import annotations

from . import names as N
from .values import (
    DAY,
    END,
    MESSAGES_PER_GROUP,
    HxEnum,
    d_,
    dt,
    hxb,
    js,
    minute_of_date,
    rights_json,
    year_of,
)


class MemberGen:
    """Memberships, volunteers, waiting list, documents and messages, UserGroup rows."""

    def memberships(self) -> None:
        if not self.has_membership:
            return
        w, r = self.w, self.r
        rnd = r.random
        add_op = self.add["Operation"]
        y0, y1 = year_of(self.cdate), min(2022, year_of(self.md_start[-1]))
        md_by_year: dict[int, int] = {}
        for mid, s in zip(self.md_ids, self.md_start):
            md_by_year.setdefault(year_of(s), mid)
        for uid in self.members:
            for y in range(y0, y1 + 1):
                if rnd() >= 0.25:
                    continue
                when = minute_of_date(y, 9, 1) + int(rnd() * 60) * DAY
                op_id = None
                if rnd() < 0.7:
                    op_id = w.nid("Operation")
                    add_op((op_id, f"Adhésion {y}-{y + 1}", -float(self.fee), dt(when), 3, None, uid, self.gid, 0,
                            hxb({"year": y}) if y < 2020 else b"n", None, None, js({"year": y}), None))
                    self.balance[uid] -= self.fee
                    if rnd() < 0.8:
                        add_op((w.nid("Operation"), "Paiement check", float(self.fee), dt(when + 60), 2, op_id, uid,
                                self.gid, 0, b"n", None, None, js({"type": "check"}), None))
                        self.balance[uid] += self.fee
                self.add["Membership"]((self.gid, uid, md_by_year.get(y) if rnd() < 0.3 else None, op_id,
                                        float(self.fee), y, d_(when) if rnd() < 0.9 else None))

    def volunteers(self) -> None:
        if not self.role_ids:
            return
        r = self.r
        rnd = r.random
        members = self.members
        for mid, start in zip(self.md_ids, self.md_start):
            if rnd() < 0.5:
                continue
            taken = set()
            for rid in self.role_ids:
                if rnd() < 0.6:
                    u = members[int(rnd() * len(members))]
                    if u in taken:
                        continue
                    taken.add(u)
                    self.add["Volunteer"]((u, mid, rid))

    def waiting_list(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        if self.regoption != 1 and rnd() < 0.7:
            return
        mset = set(self.members)
        seen = set()
        for _ in range(int(rnd() * 5)):
            u = w.pick_user(rnd)
            if u in mset or u in seen:
                continue
            seen.add(u)
            self.add["WaitingList"]((self.gid, u, dt(END - int(rnd() * 200) * DAY),
                                     "Bonjour,\nje souhaiterais rejoindre l'AMAP." if rnd() < 0.6 else ""))

    def documents_messages(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        if rnd() < 0.3:
            for _ in range(1 + (rnd() < 0.3)):
                fid = w.new_file(r, "pdf", self.cdate)
                self.add["EntityFile"]((w.nid("EntityFile"), fid, "group", "document",
                                        "public" if rnd() < 0.5 else "members", self.gid))
        n = int(self.jit(MESSAGES_PER_GROUP * self.weight))
        for _ in range(n):
            sender = self.members[0] if rnd() < 0.8 else self.contact
            to = [w.emails[self.members[int(rnd() * len(self.members))]] for _ in range(1 + int(rnd() * 4))]
            title = N.MESSAGE_TITLES[int(rnd() * len(N.MESSAGE_TITLES))]
            # the draws in the order of the row's values (the order the tuple used to make them)
            mid = w.nid("Message")
            sent_by = sender if rnd() < 0.97 else None
            listid = ("all", "noOrders", "contract")[int(rnd() * 3)] if rnd() < 0.8 else None
            has_to = rnd() < 0.9
            when = dt(self.md_start[int(rnd() * self.n_md)] - 2 * DAY)
            attach = js([]) if rnd() < 0.2 else None
            self.add["Message"]((
                mid, self.gid, sent_by, listid, hxb(to) if has_to else None, title,
                f"Bonjour à tous,\n\n{title}.\nÀ jeudi !", when, attach,
                js([{"type": "paragraph", "children": [{"text": title}]}]),
                js(to) if has_to else None))  # Camap: a JSON list of e-mails

    def user_groups(self) -> None:
        w, r = self.w, self.r
        rnd = r.random
        add = self.add["UserGroup"]
        members = set(self.members)
        admins = set(self.members[: 1 + (rnd() < 0.5)])
        # producers of linked catalogs become members with ContractAdmin on their catalogs
        users = sorted(members | {u for u in self.rights if u not in members and any(
            isinstance(x, int) and self.cat_linked(x) for x in self.rights[u])})
        dirty1 = self.target
        for k, uid in enumerate(users):
            rights: list = []
            blob = None
            if uid in admins:
                rights += [("GroupAdmin", None), ("Membership", None), ("Messages", None), ("ContractAdmin", None)]
                if self.c21 and rnd() < 0.5:
                    blob = hxb([HxEnum("Right", "AmapAdmin"), HxEnum("Right", "Messages")])
            cats = [x for x in self.rights.get(uid, ()) if isinstance(x, int)]
            if "captive" in self.rights.get(uid, ()):
                rights += [("GroupAdmin", None), ("Membership", None), ("Messages", None)]
            if cats and uid not in admins:
                rights.append(("ContractAdmin", sorted(set(cats))))
            rj = rights_json(rights) if rights else None
            if dirty1 and k == 1 and w.quota("text:UserGroup.rights", 2):
                # dangling ContractAdmin params: a catalog that does not exist, one of a shop group
                extra = [10_000_000 + self.gid]
                w.defects["dangling_text:UserGroup.rights.missing_catalog"] += 1
                if w.first_shop_catalog is not None:
                    extra.append(w.first_shop_catalog)
                    w.defects["dangling_text:UserGroup.rights.shop_catalog"] += 1
                rj = rights_json(rights + [("ContractAdmin", extra)])
            if dirty1 and k == 2 and w.quota("json:UserGroup.rights", 2):
                rj = '[{"right":"GroupAdmin","params":null},{"right":"ContractAdmin","params":["'
                w.defects["malformed_json:UserGroup.rights"] += 1
            add((self.gid, uid, blob, rj, round(self.balance.get(uid, 0.0), 2) + 0.0,
                 (2019 if rnd() < 0.3 else None) if w.legacy else None))
