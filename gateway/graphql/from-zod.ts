/** GraphQL types generated from the zod schemas that validate the REST API (gateway/schemas.ts,
 * common/wire.ts), so the two surfaces cannot drift apart: objects become object (or input) types
 * with the same snake_case field names, arrays lists, optional fields nullable. What GraphQL cannot
 * say (records keyed by class, unions such as "positional array or named object") is the JSON
 * scalar, with the zod/OpenAPI description carried over; values are then validated by the same zod
 * schema the REST route runs, so GraphQL accepts exactly what REST accepts. */
import { getOpenApiMetadata } from '@asteasolutions/zod-to-openapi';
import {
  GraphQLBoolean,
  type GraphQLFieldConfigMap,
  GraphQLFloat,
  type GraphQLInputFieldConfigMap,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLList,
  GraphQLNonNull,
  type GraphQLNullableType,
  GraphQLObjectType,
  type GraphQLOutputType,
  GraphQLScalarType,
  GraphQLString,
  Kind,
  type ValueNode,
} from 'graphql';
import type { z } from 'zod';

function literalValue(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map(literalValue);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literalValue(f.value)]));
    default:
      return undefined;
  }
}

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value; where a field is JSON its description says what it holds.',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (node) => literalValue(node),
});

type Zod = z.ZodType;
interface Def {
  type: string;
  innerType?: Zod;
  element?: Zod;
  shape?: Record<string, Zod>;
  options?: Zod[];
  in?: Zod;
  out?: Zod;
  values?: unknown[];
  entries?: Record<string, unknown>;
  items?: Zod[];
}
const defOf = (s: Zod) => (s as unknown as { _zod: { def: Def } })._zod.def;

function ownDescription(s: Zod): string | undefined {
  return (getOpenApiMetadata(s).description as string | undefined) ?? s.description;
}

/** A union becomes the JSON scalar, so what each of its shapes holds (positional numbers or named
 * features) is said in the field's description, or the GraphQL schema would document less than
 * the OpenAPI one generated from the same zod schema. */
function descriptionOf(s: Zod): string | undefined {
  const own = ownDescription(s);
  let inner = unwrap(s, 'input').schema;
  // A list of such unions (a batch's rows) says the same of each item.
  const list = defOf(inner).type === 'array';
  if (list) inner = unwrap(defOf(inner).element!, 'input').schema;
  const d = defOf(inner);
  if (d.type !== 'union') return own;
  const shapes = d.options!.map(ownDescription).filter((x): x is string => x !== undefined);
  if (shapes.length === 0) return own;
  const head = own ?? (list ? `Each item: ${ownDescription(inner) ?? 'one of'}` : ownDescription(inner));
  return [head, ...shapes.map((x) => `- ${x}`)].filter(Boolean).join('\n');
}

const capital = (s: string) =>
  s
    .split(/[_-]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

/** Unwraps optional/nullable/default and says whether the value may be absent. */
function unwrap(s: Zod, side: 'input' | 'output'): { schema: Zod; optional: boolean } {
  let schema = s;
  let optional = false;
  for (;;) {
    const d = defOf(schema);
    if (d.type === 'optional' || d.type === 'nullable') {
      optional = true;
      schema = d.innerType!;
    } else if (d.type === 'default' || d.type === 'prefault' || d.type === 'catch') {
      // A default fills the value in on input; the output always has it.
      if (side === 'input') optional = true;
      schema = d.innerType!;
    } else if (d.type === 'pipe') {
      schema = side === 'input' || defOf(d.out!).type === 'transform' ? d.in! : d.out!;
    } else if (d.type === 'readonly') schema = d.innerType!;
    else return { schema, optional };
  }
}

export class ZodToGraphQL {
  private readonly outputs = new Map<string, GraphQLObjectType>();
  private readonly inputs = new Map<string, GraphQLInputObjectType>();

  /** The output type of a value `schema` describes; objects are named `name`, nested ones after
   * their field (`ModelInfoModelsVersions`). */
  output(schema: Zod, name: string): GraphQLOutputType {
    const { schema: inner, optional } = unwrap(schema, 'output');
    const type = this.outputNullable(inner, name);
    return optional ? type : new GraphQLNonNull(type);
  }

  input(schema: Zod, name: string): GraphQLInputType {
    const { schema: inner, optional } = unwrap(schema, 'input');
    const type = this.inputNullable(inner, name);
    return optional ? type : new GraphQLNonNull(type);
  }

  /** Fields of an object schema as output fields (to extend with resolvers). */
  outputFields(schema: Zod, name: string): GraphQLFieldConfigMap<unknown, unknown> {
    const shape = defOf(unwrap(schema, 'output').schema).shape ?? {};
    return Object.fromEntries(
      Object.entries(shape).map(([field, s]) => [
        field,
        { type: this.output(s, `${name}${capital(field)}`), description: descriptionOf(s) },
      ]),
    );
  }

  /** Fields of an object schema as arguments or input fields. */
  inputFields(schema: Zod, name: string): GraphQLInputFieldConfigMap {
    const shape = defOf(unwrap(schema, 'input').schema).shape ?? {};
    return Object.fromEntries(
      Object.entries(shape).map(([field, s]) => [
        field,
        { type: this.input(s, `${name}${capital(field)}`), description: descriptionOf(s) },
      ]),
    );
  }

  private scalar(s: Zod): GraphQLNullableType | undefined {
    const d = defOf(s);
    switch (d.type) {
      case 'string':
        return GraphQLString;
      case 'number':
        return GraphQLFloat;
      case 'boolean':
        return GraphQLBoolean;
      case 'enum':
        return GraphQLString;
      case 'literal': {
        const v = d.values?.[0];
        return typeof v === 'number' ? GraphQLFloat : typeof v === 'boolean' ? GraphQLBoolean : GraphQLString;
      }
      case 'union': {
        // string | number (a user id, a label): text on the wire is what both REST shapes become.
        const kinds = new Set(d.options!.map((o) => defOf(unwrap(o, 'input').schema).type));
        if ([...kinds].every((k) => k === 'string' || k === 'number')) return GraphQLString;
        return JSONScalar;
      }
      case 'object':
      case 'array':
        return undefined;
      default:
        return JSONScalar;
    }
  }

  private outputNullable(s: Zod, name: string): GraphQLOutputType & GraphQLNullableType {
    const d = defOf(s);
    if (d.type === 'array') return new GraphQLList(this.output(d.element!, name));
    if (d.type !== 'object') return this.scalar(s) as GraphQLOutputType & GraphQLNullableType;
    const known = this.outputs.get(name);
    if (known) return known;
    const type: GraphQLObjectType = new GraphQLObjectType({
      name,
      description: descriptionOf(s),
      fields: () => this.outputFields(s, name),
    });
    this.outputs.set(name, type);
    return type;
  }

  private inputNullable(s: Zod, name: string): GraphQLInputType & GraphQLNullableType {
    const d = defOf(s);
    if (d.type === 'array') return new GraphQLList(this.input(d.element!, name));
    if (d.type !== 'object') return this.scalar(s) as GraphQLInputType & GraphQLNullableType;
    const known = this.inputs.get(name);
    if (known) return known;
    const type: GraphQLInputObjectType = new GraphQLInputObjectType({
      name,
      description: descriptionOf(s),
      fields: () => this.inputFields(s, name),
    });
    this.inputs.set(name, type);
    return type;
  }
}
