"""A small bank ledger as a stateful environment: accounts, deposits, withdrawals, transfers, a history.

One `Bank` instance is the world a model acts on. Its public methods are the tools and its public
attributes (`currency`, `accounts`, `transactions`) are the state a checker compares after each
turn. Money is kept in integer cents, so balances never drift by float rounding; the tools take
and return amounts in the currency's units. A bad request raises `BankError` with what was wrong
and what is possible, the way a real API answers 400.

Run it with callforge (the file is loaded only in the sandbox):

    from callforge.execute.class_env import python_environment

    env = python_environment("examples/environments/bank.py", init={"accounts": {"Ada Lovelace": 120.0}})
"""

from __future__ import annotations

from typing import Any, Literal


class BankError(Exception):
    """A request the bank refuses: an unknown account, a bad amount, too little money."""


class Bank:
    """Accounts with balances, and every movement of money in order."""

    def __init__(self, currency: str = "EUR", accounts: dict[str, float] | None = None) -> None:
        """Open the bank, with one account per entry of `accounts` (owner -> opening balance)."""
        self.currency = currency
        self.accounts: dict[str, dict[str, Any]] = {}
        self.transactions: list[dict[str, Any]] = []
        self._next_account = 1
        self._next_transaction = 1
        for owner, balance in (accounts or {}).items():
            self.open_account(owner, balance)

    def open_account(self, owner: str, initial_deposit: float = 0.0) -> dict[str, Any]:
        """Open a new account for a customer.

        Args:
            owner: Full name of the account holder, e.g. "Ada Lovelace".
            initial_deposit: Amount to pay in when the account opens, in the bank's currency.

        Returns:
            The new account: its id (use it in the other tools), owner and balance.
        """
        if not owner.strip():
            raise BankError("owner must be a name, e.g. 'Ada Lovelace'")
        cents = self._cents(initial_deposit, allow_zero=True)
        account_id = f"ACC-{self._next_account:04d}"
        self._next_account += 1
        self.accounts[account_id] = {"owner": owner.strip(), "balance_cents": 0}
        if cents:
            self._move(account_id, cents, "deposit", "opening deposit")
        return self._account_view(account_id)

    def deposit(self, account_id: str, amount: float, note: str = "") -> dict[str, Any]:
        """Pay money into an account.

        Args:
            account_id: The account to credit, e.g. "ACC-0001".
            amount: How much to pay in, in the bank's currency; more than zero.
            note: A reference shown in the transaction history.

        Returns:
            The transaction, with the balance after it.
        """
        self._account(account_id)
        return self._move(account_id, self._cents(amount), "deposit", note)

    def withdraw(self, account_id: str, amount: float, note: str = "") -> dict[str, Any]:
        """Take money out of an account; the balance may not go below zero.

        Args:
            account_id: The account to debit, e.g. "ACC-0001".
            amount: How much to take out, in the bank's currency; more than zero.
            note: A reference shown in the transaction history.

        Returns:
            The transaction, with the balance after it.
        """
        cents = self._cents(amount)
        self._check_funds(account_id, cents, "withdrawal")
        return self._move(account_id, -cents, "withdrawal", note)

    def transfer(self, from_account: str, to_account: str, amount: float, note: str = "") -> dict[str, Any]:
        """Move money from one account to another of this bank.

        Args:
            from_account: The account to debit, e.g. "ACC-0001".
            to_account: The account to credit, e.g. "ACC-0002"; not the same as from_account.
            amount: How much to move, in the bank's currency; more than zero.
            note: A reference shown in both accounts' histories.

        Returns:
            Both transactions: the debit and the credit, each with the balance after it.
        """
        cents = self._cents(amount)
        self._account(to_account)
        if from_account == to_account:
            raise BankError(f"cannot transfer from {from_account} to itself; give two different accounts")
        self._check_funds(from_account, cents, "transfer")
        debit = self._move(from_account, -cents, "transfer_out", note, counterpart=to_account)
        credit = self._move(to_account, cents, "transfer_in", note, counterpart=from_account)
        return {"debit": debit, "credit": credit}

    def get_balance(self, account_id: str) -> dict[str, Any]:
        """The current balance of an account.

        Args:
            account_id: The account to look at, e.g. "ACC-0001".

        Returns:
            The account id, owner, balance and currency.
        """
        self._account(account_id)
        return self._account_view(account_id)

    def list_transactions(
        self, account_id: str, kind: Literal["all", "in", "out"] = "all", limit: int = 10
    ) -> list[dict[str, Any]]:
        """The latest transactions of an account, newest first.

        Args:
            account_id: The account whose history to list, e.g. "ACC-0001".
            kind: "in" for money received, "out" for money paid, "all" for both.
            limit: Most transactions to return, from 1 to 100.

        Returns:
            The transactions, newest first.
        """
        self._account(account_id)
        if not 1 <= limit <= 100:
            raise BankError(f"limit must be between 1 and 100, got {limit}")
        found = [t for t in reversed(self.transactions) if t["account"] == account_id]
        if kind != "all":
            found = [t for t in found if (t["amount"] > 0) == (kind == "in")]
        return found[:limit]

    # ------------------------------------------------------------------ helpers (not tools)

    def _account(self, account_id: str) -> dict[str, Any]:
        account = self.accounts.get(account_id)
        if account is None:
            known = ", ".join(f"{i} ({a['owner']})" for i, a in self.accounts.items()) or "none yet"
            raise BankError(f"no account {account_id!r}; open accounts: {known}")
        return account

    def _cents(self, amount: float, *, allow_zero: bool = False) -> int:
        cents = round(amount * 100)
        if cents < 0 or (cents == 0 and not allow_zero):
            raise BankError(f"amount must be more than zero, got {amount}")
        return cents

    def _check_funds(self, account_id: str, cents: int, what: str) -> None:
        balance = self._account(account_id)["balance_cents"]
        if balance < cents:
            raise BankError(
                f"insufficient funds in {account_id}: balance {balance / 100:.2f} {self.currency}, "
                f"{what} of {cents / 100:.2f} {self.currency}"
            )

    def _move(
        self, account_id: str, cents: int, kind: str, note: str, counterpart: str | None = None
    ) -> dict[str, Any]:
        account = self.accounts[account_id]
        account["balance_cents"] += cents
        transaction = {
            "id": f"TX-{self._next_transaction:05d}",
            "account": account_id,
            "kind": kind,
            "amount": cents / 100,
            "balance_after": account["balance_cents"] / 100,
            "counterpart": counterpart,
            "note": note,
        }
        self._next_transaction += 1
        self.transactions.append(transaction)
        return transaction

    def _account_view(self, account_id: str) -> dict[str, Any]:
        account = self.accounts[account_id]
        return {
            "account_id": account_id,
            "owner": account["owner"],
            "balance": account["balance_cents"] / 100,
            "currency": self.currency,
        }
