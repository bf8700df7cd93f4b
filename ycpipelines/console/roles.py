"""Who may open what (角色与职责分离): a page names the roles it serves; the registry's own rules
(four eyes, grantor ≠ reviewer, launcher ≠ reviewer) still decide every action."""

from fastapi import Depends, HTTPException

from ycpipelines.console.sessions import SignedIn, Viewer

LABELS = {
    "admin": "数据主管部门 admin",
    "reviewer": "出域审核 reviewer",
    "lab": "应用场景评审 lab",
    "supervisor": "监管 supervisor",
    "operator": "运维 operator",
    "bureau:": "数源部门 bureau",
    "consumer:": "加工使用主体 consumer",
}


def needs(*roles: str) -> object:
    """A dependency: the viewer, if it holds one of `roles` (`consumer:` means any consumer);
    otherwise 403."""

    def dependency(seen: SignedIn) -> Viewer:
        for role in roles:
            if (role.endswith(":") and seen.scoped(role[:-1])) or seen.has(role):
                return seen
        wanted = "、".join(LABELS.get(r, r) for r in roles)
        raise HTTPException(403, f"无权限：本页需要角色 {wanted}")

    return Depends(dependency)
