/**
 * contracts/token — a fungible token (ERC-20-like) with u128 amounts.
 *
 * Methods (args are concatenated fixed-size fields: addresses 32 bytes,
 * amounts u128 16 bytes little-endian):
 *   init(supply)                  mints `supply` to the deployer (deploy only).
 *   transfer(to, amount)          moves from the caller; reverts "insufficient balance".
 *   approve(spender, amount)      sets the caller's allowance for `spender` (overwrites).
 *   transferFrom(from, to, amount) spends allowance; reverts "insufficient allowance"
 *                                 or "insufficient balance".
 *   balanceOf(addr) → amount      allowance(owner, spender) → amount
 *   totalSupply() → amount
 * Events: "Transfer" with data from ‖ to ‖ amount (from is all zeros for the
 * mint); "Approval" with data owner ‖ spender ‖ amount.
 * Invariants: the sum of all balances equals the total supply; a zero balance
 * or allowance is stored as an absent key.
 * Storage: "s" → supply; "b" ‖ addr → balance; "a" ‖ owner ‖ spender → allowance.
 * Costs: transfer is 2 storage reads, ≤ 2 writes and 1 event.
 */
import {
  Address,
  ADDRESS_BYTES,
  U128,
  caller,
  concat3,
  emitEvent,
  input,
  key1,
  key2,
  output,
  readAddress,
  revertWith,
  storageGetU128,
  storageSetU128,
} from "./lib/index";

const PREFIX_SUPPLY: u8 = 0x73; // "s"
const PREFIX_BALANCE: u8 = 0x62; // "b"
const PREFIX_ALLOWANCE: u8 = 0x61; // "a"

function balanceKey(addr: Address): Uint8Array {
  return key1(PREFIX_BALANCE, addr);
}

function allowanceKey(owner: Address, spender: Address): Uint8Array {
  return key2(PREFIX_ALLOWANCE, owner, spender);
}

function supplyKey(): Uint8Array {
  const k = new Uint8Array(1);
  k[0] = PREFIX_SUPPLY;
  return k;
}

function move(from: Address, to: Address, amount: U128): void {
  const fromKey = balanceKey(from);
  const fromBal = storageGetU128(fromKey);
  if (fromBal.lt(amount)) revertWith("insufficient balance");
  storageSetU128(fromKey, fromBal.sub(amount));
  const toKey = balanceKey(to);
  storageSetU128(toKey, storageGetU128(toKey).add(amount));
  emitEvent("Transfer", concat3(from, to, amount.toBytes()));
}

export function init(): void {
  const supply = U128.read(input(), 0);
  const to = caller();
  storageSetU128(supplyKey(), supply);
  storageSetU128(balanceKey(to), supply);
  emitEvent("Transfer", concat3(new Uint8Array(ADDRESS_BYTES), to, supply.toBytes()));
}

export function transfer(): void {
  const args = input();
  move(caller(), readAddress(args, 0), U128.read(args, 32));
}

export function approve(): void {
  const args = input();
  const owner = caller();
  const spender = readAddress(args, 0);
  const amount = U128.read(args, 32);
  storageSetU128(allowanceKey(owner, spender), amount);
  emitEvent("Approval", concat3(owner, spender, amount.toBytes()));
}

export function transferFrom(): void {
  const args = input();
  const spender = caller();
  const from = readAddress(args, 0);
  const to = readAddress(args, 32);
  const amount = U128.read(args, 64);
  const key = allowanceKey(from, spender);
  const allowed = storageGetU128(key);
  if (allowed.lt(amount)) revertWith("insufficient allowance");
  storageSetU128(key, allowed.sub(amount));
  move(from, to, amount);
}

export function balanceOf(): void {
  output(storageGetU128(balanceKey(readAddress(input(), 0))).toBytes());
}

export function allowance(): void {
  const args = input();
  output(storageGetU128(allowanceKey(readAddress(args, 0), readAddress(args, 32))).toBytes());
}

export function totalSupply(): void {
  output(storageGetU128(supplyKey()).toBytes());
}
