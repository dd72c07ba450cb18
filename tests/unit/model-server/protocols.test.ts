import type { Metadata } from '../../../common/wire';
import {
  formatInferResponse,
  inferResponseJson,
  modelMetadata,
  parseInferRequest,
} from '../../../model-server/protocol/oip-v2';
import type { ProtocolDeps } from '../../../model-server/protocol/served';
import {
  formatPredictResponse,
  modelStatus,
  parsePredictRequest,
  predictResponseJson,
  signatureMetadata,
} from '../../../model-server/protocol/tf-serving';

const metadata = {
  model: 'img',
  version: '2',
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 2, 3], features: ['a', 'b', 'c', 'd', 'e', 'f'] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2], labels: ['cat', 'dog'] }],
  format: 'layers-model',
  description: 'test',
} as unknown as Metadata;

const model: ProtocolDeps['model'] = {
  name: 'img',
  version: '2',
  metadata,
  backend: 'cpu',
  inputWidth: 6,
  rowShape: [2, 3],
  labels: ['cat', 'dog'],
};

const prediction = {
  probabilities: new Float32Array([0.25, 0.75, 0.5, 0.5]),
  classIndex: new Int32Array([1, 0]),
};

describe('OIP v2 translation', () => {
  const input = (fields: Record<string, unknown>) => ({
    inputs: [
      {
        name: 'pixels',
        shape: [2, 6],
        datatype: 'FP32',
        data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        ...fields,
      },
    ],
  });

  it('reads flat data into n rows', () => {
    const req = parseInferRequest({ id: 'a', ...input({}) }, model);
    expect(req).toMatchObject({ id: 'a', n: 2, outputs: ['probabilities', 'label'] });
    expect(Array.from(req.rows)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reads nested data in the request shape, including the model row shape', () => {
    const nested = parseInferRequest(
      input({
        shape: [2, 2, 3],
        data: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [
            [7, 8, 9],
            [10, 11, 12],
          ],
        ],
      }),
      model,
    );
    expect(Array.from(nested.rows)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('takes a [W] shape as one row', () => {
    const one = parseInferRequest(input({ shape: [6], data: [1, 2, 3, 4, 5, 6] }), model);
    expect(one.n).toBe(1);
  });

  it.each([
    [{ shape: [2, 5] }, /each row needs 6 values/],
    [{ shape: [5] }, /does not fit this model/],
    [{ data: [1, 2, 3] }, /has 3 values but shape \[2, 6\] needs 12/],
    [{ datatype: 'BOOL' }, /datatype "BOOL" is not supported/],
    [
      { datatype: 'INT32', data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5] },
      /data\[11\] is 12.5; this datatype needs an integer/,
    ],
    [{ data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, Number.POSITIVE_INFINITY] }, /data\[11\] is Infinity/],
    [{ data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, { x: 1 }] }, /data\[11\] is \{"x":1\}; expected a number/],
    [{ shape: [2, 6], data: [[1, 2, 3, 4, 5, 6], 'row'] }, /data\[1\] is "row"; expected a list of 6 values/],
    [{ shape: [-1, 6] }, /inputs\.0\.shape\.0/],
  ])('rejects %j', (fields, message) => {
    expect(() => parseInferRequest(input(fields), model)).toThrow(message);
  });

  it('filters outputs and formats labels from class indices', () => {
    const req = parseInferRequest(
      { ...input({}), outputs: [{ name: 'label' }, { name: 'probabilities' }] },
      model,
    );
    expect(formatInferResponse(model, req, prediction)).toEqual({
      model_name: 'img',
      model_version: '2',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [2], data: ['dog', 'cat'] },
        { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.25, 0.75, 0.5, 0.5] },
      ],
    });
  });

  it('writes the response JSON straight from the typed arrays, byte for byte as JSON.stringify would', () => {
    // Float32 values that print long as doubles, NaN (JSON null), a class index without a label.
    const odd = {
      probabilities: new Float32Array([0.1, Number.NaN, 1e-7, 1 / 3]),
      classIndex: new Int32Array([0, 7]),
    };
    for (const extra of [{}, { id: 'req "7"' }, { outputs: [{ name: 'label' }] }]) {
      const req = parseInferRequest({ ...input({}), ...extra }, model);
      for (const p of [prediction, odd]) {
        expect(inferResponseJson(model, req, p)).toBe(JSON.stringify(formatInferResponse(model, req, p)));
      }
    }
  });

  it('names the position and value of a bad number in flat and nested data', () => {
    expect(() =>
      parseInferRequest(
        input({
          data: [
            [1, 2, 3, 4, 5, 6],
            [7, 8, 9, null, 11, 12],
          ],
        }),
        model,
      ),
    ).toThrow(/inputs\[0\]\.data\[1\]\[3\] is null; expected a number/);
    expect(() => parseInferRequest(input({ data: 'pixels' }), model)).toThrow(
      /inputs\.0\.data: Invalid input: expected array/,
    );
  });

  it('describes the model with backend, features and labels', () => {
    expect(modelMetadata(model, { tensors: 4 })).toMatchObject({
      name: 'img',
      versions: ['2'],
      platform: 'tensorflow_js',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 2, 3] }],
      parameters: { backend: 'cpu', labels: ['cat', 'dog'], tensors: 4 },
    });
  });
});

describe('TF Serving translation', () => {
  const rows = [
    [1, 2, 3, 4, 5, 6],
    [7, 8, 9, 10, 11, 12],
  ];

  it('reads row-format instances, flat, nested or named', () => {
    for (const instances of [
      rows,
      rows.map((r) => [r.slice(0, 3), r.slice(3)]),
      rows.map((r) => ({ pixels: r })),
    ]) {
      const req = parsePredictRequest({ instances }, model);
      expect(req.format).toBe('row');
      expect(Array.from(req.rows)).toEqual(rows.flat());
    }
  });

  it('reads columnar inputs, listed or named, and a single flat row', () => {
    expect(parsePredictRequest({ inputs: rows }, model)).toMatchObject({ format: 'columnar', n: 2 });
    expect(parsePredictRequest({ inputs: { pixels: rows } }, model)).toMatchObject({
      format: 'columnar',
      n: 2,
    });
    expect(parsePredictRequest({ inputs: rows[0] }, model)).toMatchObject({ n: 1 });
  });

  it('answers predictions for instances and outputs for inputs', () => {
    const row = parsePredictRequest({ instances: rows }, model);
    expect(formatPredictResponse(model, row, prediction)).toEqual({
      predictions: [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    });
    const col = parsePredictRequest({ inputs: rows }, model);
    expect(formatPredictResponse(model, col, prediction)).toEqual({
      outputs: [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    });
  });

  it('writes the predict response JSON as JSON.stringify would', () => {
    const odd = {
      probabilities: new Float32Array([0.1, Number.NaN, 1e-7, 1 / 3]),
      classIndex: new Int32Array(2),
    };
    for (const body of [{ instances: rows }, { inputs: rows }]) {
      const req = parsePredictRequest(body, model);
      for (const p of [prediction, odd]) {
        expect(predictResponseJson(model, req, p)).toBe(JSON.stringify(formatPredictResponse(model, req, p)));
      }
    }
  });

  it.each([
    [[], /must be a JSON object/],
    [{}, /needs "instances"/],
    [{ instances: rows, inputs: rows }, /not both/],
    [{ instances: {} }, /must be a list of rows/],
    [
      { instances: [[1, 2, 3]] },
      /instances\[0\] has 3 values; each row needs 6 numbers or nested as \[2, 3\]/,
    ],
    [
      {
        instances: [
          [
            [1, 2, 3],
            [4, 5],
          ],
        ],
      },
      /instances\[0\]\[1\] has 2 values; the shape says 3/,
    ],
    [{ instances: [[1, 2, 3, 4, 5, true]] }, /instances\[0\]\[5\] is true/],
    [{ inputs: { a: rows, b: rows } }, /inputs names 2 inputs/],
  ])('rejects %j', (body, message) => {
    expect(() => parsePredictRequest(body, model)).toThrow(message);
  });

  it('reports status and the serving_default signature', () => {
    expect(modelStatus(model, true).model_version_status[0]).toMatchObject({
      version: '2',
      state: 'AVAILABLE',
    });
    expect(modelStatus(model, false).model_version_status[0]!.state).toBe('LOADING');
    const sig = signatureMetadata(model).metadata.signature_def.signature_def.serving_default;
    expect(sig.inputs.pixels!.tensor_shape.dim.map((d) => d.size)).toEqual(['-1', '2', '3']);
    expect(sig.outputs.probabilities.tensor_shape.dim.map((d) => d.size)).toEqual(['-1', '2']);
  });
});
