// A frontend module typed by `manage.py resschema --typescript` (the test writes it to ./resources.ts).
// Each @ts-expect-error line must fail to compile: the declarations are strict enough to catch it.
import type { Book, BookCollectionQuery, Loan, ResourceTypes, Shelf } from "./resources";

type Template = keyof ResourceTypes;
type Methods<T extends Template> = ResourceTypes[T]["methods"];

interface Call {
  rid: string;
  method: string;
  params: unknown;
}

/** A call checked against the resource's methods and their params. */
export function call<T extends Template, M extends keyof Methods<T> & string>(
  template: T,
  rid: string,
  method: M,
  params: Methods<T>[M],
): Call {
  return { rid, method, params };
}

export function describe(book: Book): string {
  return `${book.title} by ${book.author}`;
}

export function dueTitles(loans: Loan[]): string[] {
  return loans.map((loan) => `${describe(loan.book)} due ${loan.due}`);
}

export function shelfTitles(shelf: Shelf): string[] {
  return shelf.books.map(describe);
}

export const calls: Call[] = [
  call("library.shelf.{pk}", "library.shelf.1", "addBook", { id: 3 }),
  call("library.book.{pk}", "library.book.1", "set", { title: "Animal Farm" }),
  call("library.books", "library.books", "new", { title: "Coraline", author: "Neil Gaiman" }),
  call("library.book.{pk}", "library.book.1", "delete", undefined),
  call("library.books", "library.books", "delete", { id: 2 }),
  // @ts-expect-error addBook takes a book's ID, a number
  call("library.shelf.{pk}", "library.shelf.1", "addBook", { id: "3" }),
  // @ts-expect-error books have no method fly
  call("library.book.{pk}", "library.book.1", "fly", {}),
  // @ts-expect-error new needs the author too
  call("library.books", "library.books", "new", { title: "Coraline" }),
  // @ts-expect-error a relation collection has no methods
  call("library.shelf.{pk}.books", "library.shelf.1.books", "new", {}),
];

export const query: BookCollectionQuery = { author: "Orwell", order: "-title", limit: 10 };
// @ts-expect-error books cannot be ordered by a field the resource does not allow
export const badQuery: BookCollectionQuery = { order: "due" };

export const onShelf: ResourceTypes["library.shelf.{pk}.books"]["value"] = [
  { id: 1, title: "Animal Farm", author: "George Orwell" },
];
// @ts-expect-error a shelf's owner is a user ID, a number
export const badShelf: Shelf = { id: 1, name: "Mine", owner_id: "alice", books: [] };
